# bench/lib/prereqs.sh: what a run needs before anything starts: the peers and tools (Debian
# packages only), free ports, a throwaway PKI, and the Release builds of the gateway(s) and the floor.

install_peers() {
  local need=()
  command -v nginx   >/dev/null || need+=(nginx)
  command -v haproxy >/dev/null || need+=(haproxy)
  command -v caddy   >/dev/null || need+=(caddy)
  command -v ab      >/dev/null || need+=(apache2-utils)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl    >/dev/null || need+=(curl)
  command -v python3 >/dev/null || need+=(python3)   # bench/report (standard library only)
  ((${#need[@]})) || return 0
  log "installing from Debian packages: ${need[*]}"
  # Keep the packages' services from starting system-wide: this run starts its own instances.
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  ((own_policy)) && rm -f /usr/sbin/policy-rc.d
  # If a package still started its service (systemd hosts), stop it: we never leave one running.
  if [[ -d /run/systemd/system ]]; then
    local s
    for s in nginx haproxy caddy; do systemctl stop "$s" 2>/dev/null || true; systemctl disable "$s" 2>/dev/null || true; done
  fi
}

check_tools() {
  local c
  for c in nginx haproxy caddy ab openssl curl dotnet python3 git; do
    command -v "$c" >/dev/null || die "$c not found"
  done
}

# Ports must be free, and what an interrupted run of ours left is stopped (only pids from our own
# pid files).
check_ports() {
  local pf port
  for pf in "$OUT/backend/nginx.pid" "$OUT/nginx/nginx.pid" "$OUT/haproxy/haproxy.pid"; do
    [[ -s $pf ]] && kill -0 "$(cat "$pf")" 2>/dev/null && kill -TERM "$(cat "$pf")" 2>/dev/null || true
  done
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "port $port on 127.0.0.1 is already in use"; fi
  done
}

# ---------------------------------------------------------------- one throwaway PKI
make_pki() {
  local d="$OUT/pki"
  rm -rf "$d"; mkdir -p "$d"
  local newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ku="digitalSignature"
  if [[ $KEYTYPE == rsa ]]; then newkey=(-newkey rsa:2048); ku="digitalSignature,keyEncipherment"; fi
  (
    cd "$d"
    openssl req -x509 -new "${newkey[@]}" -nodes -keyout ca.key -out ca.pem -days 30 -sha256 \
      -subj "/CN=MtlsGate Bench CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,%s\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' "$ku" > server.ext
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,%s\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' "$ku" > client.ext
    openssl req -new "${newkey[@]}" -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile server.ext -out server.pem 2>/dev/null
    openssl req -new "${newkey[@]}" -nodes -keyout client.key -out client.csr -subj "/CN=bench-client/O=MtlsGate Bench" 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile client.ext -out client.pem 2>/dev/null
    cat client.pem client.key > client-bundle.pem          # ab -E wants cert and key in one PEM
    cat server.pem server.key > server-combined.pem        # HAProxy crt wants them in one PEM
    # An untrusted client (its own CA) for the "wrong certificate" check.
    openssl req -x509 -new "${newkey[@]}" -nodes -keyout rogue-ca.key -out rogue-ca.pem -days 30 -subj "/CN=Rogue CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new "${newkey[@]}" -nodes -keyout rogue.key -out rogue.csr -subj "/CN=rogue-client" 2>/dev/null
    openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial -days 30 -extfile client.ext -out rogue.pem 2>/dev/null
    openssl verify -CAfile ca.pem server.pem client.pem >/dev/null
    chmod 600 ./*.key
  )
}

# ---------------------------------------------------------------- builds
publish_gateway() { # source-root output-dir logfile
  dotnet publish "$1/src/MtlsGate" -c Release -o "$2" -nologo -v quiet > "$3" 2>&1 \
    || { cat "$3" >&2; die "dotnet publish of $1/src/MtlsGate failed"; }
}

# publish_current: the checkout as it is (uncommitted edits included), published from a copy of its
# build inputs in a temporary directory, so that a build or test run in the checkout at the same
# time (they rewrite src/MtlsGate/obj/project.assets.json) cannot break the publish.
publish_current() {
  local src
  src=$(mktemp -d "${TMPDIR:-/tmp}/mtlsgate-bench-current.XXXXXX")
  COMPARE_SRC=$src   # removed by cleanup if the run stops here
  tar -C "$ROOT" --exclude='bin' --exclude='obj' -cf - src Directory.Build.props Directory.Packages.props global.json appsettings.json \
    $( [[ -f "$ROOT/NuGet.config" ]] && echo NuGet.config ) | tar -x -C "$src"
  publish_gateway "$src" "$OUT/gateway" "$OUT/publish.log"
  rm -rf "$src"; COMPARE_SRC=
}

publish_floor() {
  dotnet publish "$HERE/floor/Floor.csproj" -c Release -o "$OUT/floor" -nologo -v quiet > "$OUT/publish-floor.log" 2>&1 \
    || { cat "$OUT/publish-floor.log" >&2; die "dotnet publish of bench/floor failed"; }
}

# publish_compare REV: the gateway as it was at REV, published like the current one. The tree is
# exported with `git archive` into a temporary directory outside the repository: no worktree is
# registered in the shared .git (other sessions work there), and the build does not pick up this
# checkout's Directory.Build.props from a parent directory.
publish_compare() {
  local rev=$1 src
  src=$(mktemp -d "${TMPDIR:-/tmp}/mtlsgate-bench-compare.XXXXXX")
  COMPARE_SRC=$src   # removed by cleanup
  git -C "$ROOT" archive --format=tar "$COMPARE_COMMIT" | tar -x -C "$src"
  publish_gateway "$src" "$OUT/gateway-compare" "$OUT/publish-compare.log"
  rm -rf "$src"; COMPARE_SRC=
  log "published MtlsGate at $rev ($COMPARE_COMMIT) to bench/out/gateway-compare"
}
