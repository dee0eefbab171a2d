namespace MtlsGate.Management;

/// <summary>Marks connections that arrived on the management listener.</summary>
public sealed class ManagementConnectionFeature
{
    public static readonly ManagementConnectionFeature Instance = new();
}
