using System.Net;
using Fastsock.Locality;
using Fastsock.Native;

namespace Fastsock.Transport;

internal sealed unsafe partial class WorkerConnector
{
    /// <summary>Which local address the kernel uses toward a remote address (the Rss hash needs it), remembered per worker.</summary>
    private sealed class LocalAddressCache
    {
        private const int Size = 16;
        private readonly RawSocketAddress[] _remotes = new RawSocketAddress[Size];
        private readonly RawSocketAddress[] _locals = new RawSocketAddress[Size];
        private int _count;
        private int _next;

        public RawSocketAddress For(in RawSocketAddress remote, IPEndPoint remoteEndPoint)
        {
            ReadOnlySpan<byte> key = SourcePortSelector.AddressBytes(remote);
            for (int i = 0; i < _count; i++)
            {
                if (SourcePortSelector.AddressBytes(_remotes[i]).SequenceEqual(key))
                {
                    return _locals[i];
                }
            }

            var local = Lookup(remote, remoteEndPoint);
            _remotes[_next] = remote;
            _locals[_next] = local;
            _next = (_next + 1) % Size;
            _count = Math.Min(_count + 1, Size);
            return local;
        }

        /// <summary>A UDP connect sends nothing but makes the kernel route and pick the source address.</summary>
        private static RawSocketAddress Lookup(in RawSocketAddress remote, IPEndPoint remoteEndPoint)
        {
            int fd = SocketCalls.Socket(remote.Family, SocketCalls.SOCK_DGRAM | SocketCalls.SOCK_CLOEXEC, 0);
            if (fd < 0)
            {
                throw Errno.Exception($"socket(route to {remoteEndPoint.Address})");
            }

            try
            {
                var local = default(RawSocketAddress);
                ReadOnlySpan<byte> remoteSpan = remote;
                Span<byte> localSpan = local;
                int length = RawSocketAddress.Size;
                fixed (byte* r = remoteSpan)
                fixed (byte* l = localSpan)
                {
                    if (SocketCalls.Connect(fd, r, remote.Length) != 0)
                    {
                        throw Errno.Exception($"connect(UDP, route to {remoteEndPoint.Address})");
                    }

                    if (SocketCalls.GetSockName(fd, l, &length) != 0)
                    {
                        throw Errno.Exception($"getsockname(route to {remoteEndPoint.Address})");
                    }
                }

                return local;
            }
            finally
            {
                FileCalls.Close(fd);
            }
        }
    }
}
