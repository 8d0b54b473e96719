using System.Net;
using System.Net.Sockets;
using Fastsock.Native;

namespace Fastsock.Transport.Tls;

/// <summary>
/// Whether this kernel offers kernel TLS (the <c>tls</c> TCP upper-layer protocol, CONFIG_TLS). Found by trying it on
/// a loopback connection made for the purpose, once per process. Fastsock only reports it: records are encrypted in
/// user space either way, because no kTLS data path is built yet.
/// </summary>
public static class KernelTls
{
    private const int SolTcp = 6;
    private const int TcpUlp = 31;

    private static readonly Lazy<KernelTlsStatus> Probed = new(Probe);

    /// <summary>The result of the probe (made on first use, then remembered).</summary>
    public static KernelTlsStatus Status => Probed.Value;

    private static unsafe KernelTlsStatus Probe()
    {
        try
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(listener.LocalEndPoint!);
            using var server = listener.Accept();

            // The ULP is looked up before the socket is checked, so a kernel without it answers ENOENT here; one with
            // it attaches "tls" to this throwaway connection, which changes nothing until keys are set.
            ReadOnlySpan<byte> name = "tls"u8;
            fixed (byte* value = name)
            {
                if (SocketCalls.SetOption((int)client.Handle, SolTcp, TcpUlp, value, name.Length) == 0)
                {
                    return new KernelTlsStatus(true, 0, "");
                }
            }

            int errno = Errno.Last;
            return new KernelTlsStatus(false, errno, Errno.Name(errno));
        }
        catch (SocketException ex)
        {
            return new KernelTlsStatus(false, ex.ErrorCode, $"probe connection failed: {ex.SocketErrorCode}");
        }
    }
}

/// <summary>The outcome of the kernel TLS probe.</summary>
/// <param name="Available">The kernel accepted the <c>tls</c> ULP.</param>
/// <param name="Errno">The errno of the refusal; 0 when available.</param>
/// <param name="ErrnoName">Its name (<c>ENOENT</c>: the kernel has no tls ULP).</param>
public sealed record KernelTlsStatus(bool Available, int Errno, string ErrnoName)
{
    /// <summary>One line for a log: whether the kernel could do TLS and where records are encrypted.</summary>
    public string Describe() => Available
        ? "kernel TLS: available (tls ULP accepted); records encrypted in user space (no kTLS data path yet)"
        : Errno == Native.Errno.ENOENT
            ? "kernel TLS: unavailable (ENOENT: tls ULP not in this kernel); records encrypted in user space"
            : $"kernel TLS: unavailable ({ErrnoName}); records encrypted in user space";
}
