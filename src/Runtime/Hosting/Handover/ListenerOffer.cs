using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.Native;
using Fastsock.Transport.Tls;
using Microsoft.Extensions.Logging;

namespace Fastsock.Hosting.Handover;

/// <summary>
/// The running server's side: a Unix socket (mode 0600) where a successor asks for the listening sockets. One
/// successor at a time, on a thread of its own (never a worker): it gets the description and the descriptors; when
/// it says "ready" the workers stop polling the sockets, this socket is closed and unlinked (the successor binds the
/// same path next) and "released" tells it so. A successor that refuses or goes away leaves everything serving.
/// </summary>
internal sealed unsafe class ListenerOffer : IDisposable
{
    private const int PollMs = 200;
    private const uint OwnerOnly = 0x180; // 0600

    private readonly string _path;
    private readonly Func<(ListenerSetDescription Description, int[] Fds)> _describe;
    private readonly Action _release;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly TlsTicketKeys? _ticketKeys;
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private int _fd;
    private volatile bool _stopping;

    private ListenerOffer(string path, int fd, Func<(ListenerSetDescription, int[])> describe, Action release, TimeSpan timeout, ILogger logger, TlsTicketKeys? ticketKeys)
    {
        _ticketKeys = ticketKeys;
        _path = path;
        _fd = fd;
        _describe = describe;
        _release = release;
        _timeout = timeout;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "fastsock-handover" };
    }

    /// <summary>Listens on <paramref name="path"/> (mode 0600) for a successor and serves one hand-over on its own thread.</summary>
    /// <param name="path">The unix socket path to offer the listeners on.</param>
    /// <param name="describe">The listening sockets now, in group order (called on this offer's thread).</param>
    /// <param name="release">Stops every worker accepting on them and returns once they have.</param>
    /// <param name="timeout">How long one exchange with a successor may take.</param>
    /// <param name="logger">Where the hand-over is logged.</param>
    /// <param name="ticketKeys">TLS ticket keys sent after the descriptors, so the successor resumes this server's tickets; null: none.</param>
    public static ListenerOffer Start(string path, Func<(ListenerSetDescription, int[])> describe, Action release, TimeSpan timeout, ILogger logger, TlsTicketKeys? ticketKeys = null)
    {
        RemoveStale(path);
        var address = UnixSocketAddress.From(new UnixDomainSocketEndPoint(path));
        int fd = SocketCalls.Socket(SocketCalls.AF_UNIX, DescriptorPassingCalls.SOCK_SEQPACKET | SocketCalls.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw Errno.Exception($"socket(AF_UNIX, {path})");
        }

        try
        {
            // The socket file takes the socket's mode at bind: set it first, so the file is never open to others.
            PathCalls.ChangeModeOfDescriptor(fd, OwnerOnly);
            fixed (byte* pointer = address.Bytes)
            {
                if (SocketCalls.Bind(fd, pointer, address.Length) != 0)
                {
                    throw Errno.Exception($"bind({path})", "Choose a path in a directory this user may write to (admin.socket).");
                }
            }

            if (PathCalls.ChangeMode(path, OwnerOnly) != 0 || SocketCalls.Listen(fd, 4) != 0)
            {
                throw Errno.Exception($"listen({path})");
            }
        }
        catch
        {
            FileCalls.Close(fd);
            throw;
        }

        var offer = new ListenerOffer(path, fd, describe, release, timeout, logger, ticketKeys);
        offer._thread.Start();
        HandoverLog.Offering(logger, path);
        return offer;
    }

    /// <summary>A socket file left by a process that died is removed; one a live server answers on is an error.</summary>
    private static void RemoveStale(string path)
    {
        ThrowIfOffered(path);
        if (File.Exists(path))
        {
            PathCalls.Unlink(path);
        }
    }

    /// <summary>
    /// Throws a one-line <see cref="ListenerHandoverException"/> when a live server offers its listeners at
    /// <paramref name="path"/>. Called before a server binds anything: a second server must fail before it joins the
    /// running one's reuseport groups (and takes a share of its new connections), not after.
    /// </summary>
    public static void ThrowIfOffered(string path)
    {
        if (IsOffered(path))
        {
            throw new ListenerHandoverException($"hand-over socket {path} is in use: a running server offers its listeners there; take them over (--takeover {path}) or choose another path (admin.socket)");
        }
    }

    /// <summary>Whether a server accepts on the socket file at <paramref name="path"/> (false: no file, or one nobody listens on).</summary>
    private static bool IsOffered(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            // The server answers with its offer; closing at once leaves it serving (it logs that nobody took it).
            using var probe = HandoverChannel.Connect(path, TimeSpan.FromSeconds(1));
            return true;
        }
        catch (NativeCallException ex) when (ex.Errno is Errno.ECONNREFUSED or Errno.ENOENT)
        {
            return false;
        }
    }

    private void Run()
    {
        while (!_stopping)
        {
            int client = AcceptOne();
            if (client < 0)
            {
                continue;
            }

            try
            {
                using var channel = new HandoverChannel(client, _timeout);
                if (Serve(channel))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is NativeCallException or IOException or TimeoutException)
            {
                HandoverLog.OfferFailed(_logger, ex.Message);
            }
        }
    }

    private int AcceptOne()
    {
        var poll = new PollDescriptor { Fd = _fd, Events = PathCalls.POLLIN };
        if (PathCalls.Poll(&poll, 1, PollMs) <= 0 || _stopping)
        {
            return -1;
        }

        return SocketCalls.Accept4(_fd, null, null, SocketCalls.SOCK_CLOEXEC);
    }

    /// <summary>True once the listeners are handed over (this offer is done).</summary>
    private bool Serve(HandoverChannel channel)
    {
        var (description, fds) = _describe();
        if (_ticketKeys is not null)
        {
            description = description with { TicketKeysLength = TlsTicketKeys.Length };
        }

        channel.SendText(description.Format());
        channel.SendDescriptors(fds);
        if (_ticketKeys is not null)
        {
            SendTicketKeys(channel, _ticketKeys);
        }
        var answer = channel.ReceiveText();
        if (answer != "ready")
        {
            HandoverLog.Refused(_logger, answer is null ? "it closed the hand-over socket" : answer.StartsWith("refuse ", StringComparison.Ordinal) ? answer[7..] : answer);
            return false;
        }

        _release();
        CloseSocket();
        channel.SendText("released");
        HandoverLog.HandedOver(_logger, fds.Length, _path);
        return true;
    }

    /// <summary>The keys go from a stack buffer zeroed right after: no copy of them is left behind in this process.</summary>
    private static void SendTicketKeys(HandoverChannel channel, TlsTicketKeys keys)
    {
        Span<byte> blob = stackalloc byte[TlsTicketKeys.Length];
        try
        {
            keys.CopyTo(blob);
            channel.SendBytes(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    private void CloseSocket()
    {
        lock (_gate)
        {
            int fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
            {
                FileCalls.Close(fd);
                PathCalls.Unlink(_path);
            }
        }
    }

    /// <summary>Stops offering (a hand-over under way finishes first) and removes the socket file if it is still ours.</summary>
    public void Dispose()
    {
        _stopping = true;
        if (Thread.CurrentThread != _thread && _thread.IsAlive)
        {
            _thread.Join();
        }

        CloseSocket();
    }
}
