using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Text;
using MtlsGate.Tls;

namespace MtlsGate.Devices;

/// <summary>What a device action did, in words an operator (or the admin page) can show.</summary>
/// <param name="Ok">False: refused or failed (see <paramref name="Message"/>); nothing changed in the store.</param>
/// <param name="Message">One sentence.</param>
/// <param name="Status">The device's status afterwards.</param>
/// <param name="CrlResigned">True when the CA folder's CRL was re-signed (revoke with <c>MtlsGate:Enrollment:CaFolder</c>).</param>
public sealed record DeviceActionResult(bool Ok, string Message, DeviceStatus? Status = null, bool CrlResigned = false);

/// <summary>
/// Block, unblock, revoke and label a device: the one implementation behind the admin page, its JSON API
/// and the CLI. Each change is written to the store with who (<paramref>actor</paramref>:
/// <see cref="LoopbackActor"/>, the admin certificate's subject, or <see cref="CliActor"/>) and when, and
/// applied to this process's block list at once; other replicas read it within <c>MtlsGate:Store:PollInterval</c>.
/// Revoke also re-signs the CRL of <c>MtlsGate:Enrollment:CaFolder</c> when one is configured
/// (<see cref="CaFolder.RevokeCertificate"/>, the code <c>mtlsgate client revoke</c> uses); without it the
/// store's status alone denies the device. A revoked device cannot be unblocked (revocation is final).
/// Store errors propagate (the caller answers 503); the request path never calls here.
/// </summary>
public sealed class DeviceActions(IDeviceStore store, DeviceBlockList blockList, GatewayState state, TimeProvider time, ILogger<DeviceActions> logger)
{
    /// <summary>The actor of an action from the admin page or API on the loopback management listener (no authentication there).</summary>
    public const string LoopbackActor = "admin@loopback";

    /// <summary>The actor of an action from the command line.</summary>
    public const string CliActor = "cli";

    /// <summary>Lower-case hex of a SHA-256 fingerprint given with or without colons, any case; null when it is not one.</summary>
    public static string? NormalizeFingerprint(string? text)
    {
        var clean = (text ?? "").Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
        return clean.Length == 64 && clean.All(char.IsAsciiHexDigitLower) ? clean : null;
    }

    public Task<DeviceActionResult> BlockAsync(string sha256, string actor, CancellationToken cancellationToken) =>
        ChangeAsync(sha256, DeviceStatus.Blocked, actor, cancellationToken);

    /// <summary>Back to Active; refused for a revoked device.</summary>
    public Task<DeviceActionResult> UnblockAsync(string sha256, string actor, CancellationToken cancellationToken) =>
        ChangeAsync(sha256, DeviceStatus.Active, actor, cancellationToken);

    /// <summary>Revoked in the store (denied with reason Revoked on every replica), and in the CA folder's CRL when configured.</summary>
    public async Task<DeviceActionResult> RevokeAsync(string sha256, string actor, CancellationToken cancellationToken)
    {
        var changed = await ChangeAsync(sha256, DeviceStatus.Revoked, actor, cancellationToken).ConfigureAwait(false);
        if (!changed.Ok || state.Current.Enrollment.Folder is not { } folder)
        {
            return changed;
        }

        var key = NormalizeFingerprint(sha256)!;
        var device = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            var name = device is null ? key[..16] : CommonName(device.Subject) ?? key[..16];
            var result = folder.RevokeCertificate(key, device?.Serial ?? "", device?.Issuer ?? "", name, time.GetUtcNow());
            Log.DeviceRevokedInCrl(logger, key, folder.Directory, result.ToString());
            return result switch
            {
                CaRevocation.Revoked => changed with { Message = "Revoked; the CRL in the CA folder was re-signed.", CrlResigned = true },
                CaRevocation.AlreadyRevoked => changed with { Message = "Revoked; the CRL already listed it." },
                _ => changed with { Message = "Revoked in the device store; not a certificate of the configured CA (or never seen), so the CRL is unchanged." },
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or System.Text.Json.JsonException)
        {
            Log.DeviceCrlFailed(logger, key, folder.Directory, ex.Message);
            return changed with { Message = $"Revoked in the device store; the CRL could not be re-signed: {ex.Message}" };
        }
    }

    /// <summary>Sets (or with null/blank clears) the label: at most 100 characters, shown HTML-encoded.</summary>
    public async Task<DeviceActionResult> SetLabelAsync(string sha256, string? label, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (NormalizeFingerprint(sha256) is not { } key)
        {
            return new DeviceActionResult(false, "Not a SHA-256 fingerprint (64 hex digits).");
        }

        if (label is { Length: > 100 } || (label ?? "").Any(char.IsControl))
        {
            return new DeviceActionResult(false, "A label has at most 100 characters and no control characters.");
        }

        await store.SetLabelAsync(key, label, actor, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return new DeviceActionResult(true, string.IsNullOrWhiteSpace(label) ? "Label removed." : "Label set.");
    }

    private async Task<DeviceActionResult> ChangeAsync(string sha256, DeviceStatus status, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (NormalizeFingerprint(sha256) is not { } key)
        {
            return new DeviceActionResult(false, "Not a SHA-256 fingerprint (64 hex digits).");
        }

        if (status != DeviceStatus.Revoked)
        {
            var current = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (current?.Status == DeviceStatus.Revoked)
            {
                return new DeviceActionResult(false, "The device is revoked; revocation is final (issue a new certificate).", DeviceStatus.Revoked);
            }

            if (status == DeviceStatus.Active && current is null)
            {
                return new DeviceActionResult(false, "No such device.");
            }
        }

        await store.SetStatusAsync(key, status, actor, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        blockList.Apply(key, status);
        Log.DeviceStatusChanged(logger, key, status.ToString(), HeaderEncoding.Encode(actor));
        var word = status switch
        {
            DeviceStatus.Blocked => "Blocked",
            DeviceStatus.Revoked => "Revoked",
            _ => "Unblocked",
        };
        return new DeviceActionResult(true, $"{word}; every gateway on this store applies it within {state.Current.Store.PollInterval.TotalSeconds:0.#} s (MtlsGate:Store:PollInterval).", status);
    }

    private static string? CommonName(string subject)
    {
        try
        {
            var name = new System.Security.Cryptography.X509Certificates.X500DistinguishedName(subject);
            foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
            {
                if (rdn.GetSingleElementType().Value == "2.5.4.3" && rdn.GetSingleElementValue() is { Length: > 0 } cn)
                {
                    return cn;
                }
            }
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
        }

        return null;
    }
}
