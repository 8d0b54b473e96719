using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Fastsock.Native;

/// <summary>
/// A <c>sockaddr_in</c>/<c>sockaddr_in6</c> held inline (28 bytes), so a connection can keep its peer's
/// address without allocating an <see cref="IPEndPoint"/> unless someone asks for it.
/// </summary>
[System.Runtime.CompilerServices.InlineArray(Size)]
internal struct RawSocketAddress
{
    public const int Size = 28;
    private byte _first;

    public static RawSocketAddress From(IPEndPoint endPoint)
    {
        var result = default(RawSocketAddress);
        Span<byte> bytes = result;
        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, SocketCalls.AF_INET);
            BinaryPrimitives.WriteUInt16BigEndian(bytes[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(bytes[4..8], out _);
        }
        else if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, SocketCalls.AF_INET6);
            BinaryPrimitives.WriteUInt16BigEndian(bytes[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(bytes[8..24], out _);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[24..], (uint)endPoint.Address.ScopeId);
        }
        else
        {
            throw new ArgumentException($"Address family {endPoint.AddressFamily} of {endPoint} is not supported; use IPv4 or IPv6.", nameof(endPoint));
        }

        return result;
    }

    public readonly int Family => BinaryPrimitives.ReadUInt16LittleEndian(this);

    public readonly int Length => Family == SocketCalls.AF_INET6 ? 28 : 16;

    public readonly int Port => BinaryPrimitives.ReadUInt16BigEndian(((ReadOnlySpan<byte>)this)[2..]);

    public readonly IPEndPoint? ToEndPoint()
    {
        ReadOnlySpan<byte> bytes = this;
        return Family switch
        {
            SocketCalls.AF_INET => new IPEndPoint(new IPAddress(bytes[4..8]), Port),
            SocketCalls.AF_INET6 => new IPEndPoint(new IPAddress(bytes[8..24], BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..])), Port),
            _ => null,
        };
    }
}
