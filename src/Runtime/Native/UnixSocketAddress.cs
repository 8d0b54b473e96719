using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Fastsock.Native;

/// <summary>
/// A <c>sockaddr_un</c> (110 bytes) for connecting to an AF_UNIX stream socket. Kept apart from
/// <see cref="RawSocketAddress"/> so the inline address every TCP connection carries stays 28 bytes.
/// </summary>
internal sealed class UnixSocketAddress
{
    /// <summary><c>sizeof(struct sockaddr_un)</c> on Linux: 2 bytes of family and 108 of path.</summary>
    public const int Size = 110;
    private const int MaxPath = Size - 2;

    private UnixSocketAddress(byte[] bytes, int length, string path)
    {
        Bytes = bytes;
        Length = length;
        Path = path;
    }

    /// <summary>The sockaddr_un as the kernel reads it.</summary>
    public byte[] Bytes { get; }

    /// <summary>The address length to pass to connect: family, path and its NUL (none for an abstract name).</summary>
    public int Length { get; }

    /// <summary>The path as written (<c>@name</c> for an abstract socket).</summary>
    public string Path { get; }

    public static UnixSocketAddress From(UnixDomainSocketEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var path = endPoint.ToString();
        bool isAbstract = path.StartsWith('@');
        var bytes = new byte[Size];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, SocketCalls.AF_UNIX);
        int offset = isAbstract ? 3 : 2; // an abstract name starts with a NUL byte instead of '@'
        var name = isAbstract ? path.AsSpan(1) : path.AsSpan();
        // Room for the leading NUL (abstract) or the trailing one (path).
        if (Encoding.UTF8.GetByteCount(name) > MaxPath - 1 || name.Length == 0)
        {
            throw new ArgumentException($"Unix socket path '{path}' is empty or longer than {MaxPath - 1} bytes (sockaddr_un holds {MaxPath}).", nameof(endPoint));
        }

        int written = Encoding.UTF8.GetBytes(name, bytes.AsSpan(offset));
        int length = isAbstract ? offset + written : offset + written + 1;
        return new UnixSocketAddress(bytes, length, path);
    }

    public override string ToString() => Path;
}
