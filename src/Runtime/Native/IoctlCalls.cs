using System.Runtime.InteropServices;

namespace Fastsock.Native;

internal static unsafe partial class IoctlCalls
{
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* argument);

    public const nuint SIOCETHTOOL = 0x8946;

    /// <summary>SIOCOUTQ (TIOCOUTQ): bytes in a socket's send queue, sent or not, that the peer has not acknowledged yet.</summary>
    public const nuint SIOCOUTQ = 0x5411;

    /// <summary>Get the RSS hash key, indirection table and hash function (no privilege needed).</summary>
    public const uint ETHTOOL_GRSSH = 0x46;

    /// <summary><c>ETH_RSS_HASH_TOP</c>: the Toeplitz hash function.</summary>
    public const byte ETH_RSS_HASH_TOP = 1;

    /// <summary><c>struct ifreq</c> is 40 bytes on x86-64: a 16-byte name, then a union holding <c>ifr_data</c>.</summary>
    public const int IfReqSize = 40;

    public const int IfNameSize = 16;

    /// <summary><c>struct ethtool_rxfh</c> up to its flexible <c>rss_config</c> array.</summary>
    public const int RxfhHeaderSize = 24;
}
