namespace MtlsGate.Policy;

/// <summary>A certificate's remaining life in whole days, the one rule for warnings, metrics, the days-left header and the CLI.</summary>
public static class CertificateExpiry
{
    /// <summary>Whole days from <paramref name="now"/> to <paramref name="notAfter"/>, rounded down (negative once expired).</summary>
    public static int DaysLeft(DateTimeOffset notAfter, DateTimeOffset now) => (int)Math.Floor((notAfter - now).TotalDays);
}
