using System.Net;

namespace MtlsGate.Policy;

/// <summary>Network membership as every rule uses it: IPv4-mapped IPv6 addresses count as their IPv4 address.</summary>
public static class Networks
{
    public static IPAddress Normalize(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    public static bool Contain(IReadOnlyList<IPNetwork> networks, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(networks);
        var normalized = Normalize(address);
        foreach (var network in networks)
        {
            if (network.Contains(normalized))
            {
                return true;
            }
        }

        return false;
    }
}
