using MtlsGate.Configuration;
using MtlsGate.Devices;

namespace MtlsGate.Cli;

/// <summary>
/// <c>mtlsgate client enroll NAME [--config FILE] [--compatible]</c>: what "Add device" on the admin page
/// does, from a shell: issues a certificate from <c>MtlsGate:Enrollment:CaFolder</c>, stores a one-time
/// link in the configuration's device store (the running gateway serves it on its public listener), and
/// prints the link, its QR code (UTF-8 blocks) and the password. Same code as the page (<see cref="Enrollments"/>).
/// </summary>
public static class EnrollCommand
{
    private const string Usage = "usage: mtlsgate client enroll NAME [--config FILE] [--compatible]";

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var name = args.FirstOrDefault(a => !a.StartsWith('-') && !InitCommand.IsOptionValue(args, a));
        if (!Enrollments.IsValidName(name))
        {
            await Console.Error.WriteLineAsync("client enroll: NAME is required: 1-64 characters of letters, digits, '-', '_', '.', '@'.\n" + Usage).ConfigureAwait(false);
            return CommandLine.UsageOrConfigurationError;
        }

        var configuration = CommandLine.LoadConfiguration(args, out var baseDirectory, out var error);
        if (error is not null)
        {
            await CommandLine.ReportErrorsAsync([error]).ConfigureAwait(false);
            return CommandLine.UsageOrConfigurationError;
        }

        var (snapshot, errors) = ConfigCompiler.Compile(configuration, baseDirectory);
        if (snapshot is null)
        {
            await CommandLine.ReportErrorsAsync(errors).ConfigureAwait(false);
            return CommandLine.UsageOrConfigurationError;
        }

        var state = new GatewayState(snapshot);
        var time = TimeProvider.System;
        await using var store = DeviceStoreFactory.Open(snapshot.Store);
        var enrollments = new Enrollments(store, new CaFolderIssuer(time), state, time);
        if (enrollments.Unavailable is { } unavailable)
        {
            await Console.Error.WriteLineAsync($"client enroll: {unavailable}").ConfigureAwait(false);
            return CommandLine.UsageOrConfigurationError;
        }

        EnrollmentTicket ticket;
        try
        {
            await store.MigrateAsync(CancellationToken.None).ConfigureAwait(false);
            ticket = await enrollments.CreateAsync(name!, args.Contains("--compatible"), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"client enroll: the device store ({store.Kind}) did not answer: {ex.Message}").ConfigureAwait(false);
            return CommandLine.UsageOrConfigurationError;
        }

        Console.Out.WriteLine($"""
            Enrolment link for '{name}' (sha256 {ticket.Sha256}), works once, until {ticket.ExpiresAt:yyyy-MM-dd HH:mm} UTC:

            {EnrollmentQr.Terminal(ticket.Url)}
              {ticket.Url.AbsoluteUri}

              password {ticket.Password}   (shown once, never part of the link: type it on the phone when it opens the .p12)

            Scan the code with the phone's camera, or open the link on it: it downloads the certificate (.p12), served by
            the running gateway on its public listener. The admin page shows the device as enrolled once it has connected.
            """);
        return CommandLine.Ok;
    }
}
