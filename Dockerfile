# syntax=docker/dockerfile:1
# MtlsGate container: multi-stage build, non-root, read-only root filesystem friendly.
#   docker build -t mtlsgate .
#   docker run --read-only --tmpfs /tmp -p 8443:8443 \
#     -v ./config:/config:ro -v ./certs:/certs:ro mtlsgate

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore layer: only the files that decide the package graph, so code edits keep the cache.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/MtlsGate/MtlsGate.csproj src/MtlsGate/
RUN dotnet restore src/MtlsGate/MtlsGate.csproj -p:_IsPublishing=true
COPY appsettings.json ./
COPY src/ src/
# The same publish command the black-box tests run.
RUN dotnet publish src/MtlsGate/MtlsGate.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The private state directory (CRL cache, CRL high-water marks; MtlsGate:StateDirectory's default in a
# container): owned by the app user, 0700, and a volume so it is writable under --read-only and
# survives a new container (the marks are what stop an old CRL from being accepted again).
RUN mkdir -p /var/lib/mtlsgate && chown "$APP_UID" /var/lib/mtlsgate && chmod 0700 /var/lib/mtlsgate
# Configuration and certificates are mounted, never baked in.
VOLUME ["/config", "/certs", "/var/lib/mtlsgate"]
ENV DOTNET_EnableDiagnostics=0 \
    DOTNET_gcServer=0 \
    MtlsGate__Listen__Gateway=https://0.0.0.0:8443 \
    MtlsGate__Listen__Management=http://127.0.0.1:8081 \
    MtlsGate__StateDirectory=/var/lib/mtlsgate
EXPOSE 8443 8081
# 8081 is the management port: loopback inside the container by default (HEALTHCHECK runs inside);
# exposing it needs MtlsGate__Listen__Management=http://0.0.0.0:8081 and MtlsGate__Listen__AllowRemoteManagement=true.
USER $APP_UID
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/app/mtlsgate", "healthcheck"]
ENTRYPOINT ["/app/mtlsgate"]
CMD ["--config", "/config/appsettings.json"]
