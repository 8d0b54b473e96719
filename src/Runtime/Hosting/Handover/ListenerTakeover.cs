using System.Net;
using System.Security.Cryptography;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Transport.Tls;

namespace Fastsock.Hosting.Handover;

/// <summary>
/// The successor's side: connects to the running server's offer, receives the description and the descriptors (and
/// the TLS ticket keys, when it sends them),
/// refuses a set that is not its own (the running server then keeps serving), and once its workers accept on the
/// sockets says "ready" and waits for the old server's "released".
/// </summary>
internal sealed class ListenerTakeover : IDisposable
{
    private readonly string _path;
    private readonly HandoverChannel _channel;
    private readonly int[] _fds;
    private readonly bool[] _claimed;

    private ListenerTakeover(string path, HandoverChannel channel, ListenerSetDescription offered, int[] fds)
    {
        _path = path;
        _channel = channel;
        Offered = offered;
        _fds = fds;
        _claimed = new bool[offered.Groups.Count];
    }

    public ListenerSetDescription Offered { get; }

    /// <summary>
    /// Receives the running server's listening sockets, and its TLS ticket keys into <paramref name="ticketKeys"/> when
    /// it sends some (dropped when null); throws a one-line <see cref="ListenerHandoverException"/>.
    /// </summary>
    public static ListenerTakeover Connect(string path, TimeSpan timeout, TlsTicketKeys? ticketKeys = null)
    {
        HandoverChannel channel;
        try
        {
            channel = HandoverChannel.Connect(path, timeout);
        }
        catch (Exception ex) when (ex is NativeCallException or ArgumentException)
        {
            throw new ListenerHandoverException($"takeover from {path} failed: {ex.Message}; is a server running with its hand-over socket (admin.socket) there?", ex);
        }

        try
        {
            var text = channel.ReceiveText() ?? throw new IOException("the running server closed the hand-over socket without offering its listeners");
            var offered = ListenerSetDescription.Parse(text);
            var fds = channel.ReceiveDescriptors(offered.DescriptorCount);
            if (offered.TicketKeysLength > 0)
            {
                try
                {
                    ReceiveTicketKeys(channel, ticketKeys);
                }
                catch
                {
                    foreach (int fd in fds)
                    {
                        FileCalls.Close(fd); // our copies: the running server's sockets stay open
                    }

                    throw;
                }
            }

            return new ListenerTakeover(path, channel, offered, fds);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or FormatException or NativeCallException)
        {
            // Every descriptor received is closed by now (ReceiveDescriptors closes its own on any failure).
            TellRefused(channel, ex.Message);
            channel.Dispose();
            throw new ListenerHandoverException($"takeover from {path} failed: {ex.Message}", ex);
        }
    }

    /// <summary>The keys arrive in a stack buffer zeroed right after they are handed to the layers.</summary>
    private static void ReceiveTicketKeys(HandoverChannel channel, TlsTicketKeys? ticketKeys)
    {
        Span<byte> blob = stackalloc byte[TlsTicketKeys.Length];
        try
        {
            channel.ReceiveBytes(blob, "TLS ticket keys");
            ticketKeys?.Replace(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>
    /// For each of this server's endpoints (in order), the running server's sockets for it. Refuses (and tells the
    /// running server, which keeps serving) when the sets differ.
    /// </summary>
    public InheritedGroup[] Match(IReadOnlyList<IPEndPoint> requested, int workers, ListenerSteering steering)
    {
        var offered = Offered;
        if (offered.Workers != workers)
        {
            throw Refuse($"the running server (pid {offered.Pid}) has {offered.Workers} workers and this one {workers}; give it as many CPUs (--cores) or restart instead of taking over");
        }

        if (offered.Steering != steering)
        {
            throw Refuse($"the running server (pid {offered.Pid}) steers with '{Name(offered.Steering)}' and this one with '{Name(steering)}'; use the same steering or restart instead of taking over");
        }

        var starts = new int[offered.Groups.Count];
        for (int g = 1; g < starts.Length; g++)
        {
            starts[g] = starts[g - 1] + offered.Groups[g - 1].DescriptorCount;
        }

        var used = new bool[offered.Groups.Count];
        var result = new InheritedGroup[requested.Count];
        for (int i = 0; i < requested.Count; i++)
        {
            int match = -1;
            for (int g = 0; g < offered.Groups.Count && match < 0; g++)
            {
                var group = offered.Groups[g];
                if (!used[g] && (group.Requested.Equals(requested[i]) || group.Bound.Equals(requested[i])))
                {
                    match = g;
                }
            }

            if (match < 0)
            {
                break;
            }

            used[match] = true;
            var chosen = offered.Groups[match];
            result[i] = new InheritedGroup(_fds.AsSpan(starts[match], chosen.DescriptorCount).ToArray(), chosen.WorkerBySlot, $"pid {offered.Pid}");
        }

        if (Array.IndexOf(used, false) >= 0 || Array.IndexOf(result, null) >= 0)
        {
            throw Refuse($"the listeners differ: this server listens on {string.Join(", ", requested)} and the running one (pid {offered.Pid}) on {string.Join(", ", offered.Groups.Select(g => g.Requested))}; use the same frontends or restart instead of taking over");
        }

        Array.Fill(_claimed, true); // every group now belongs to a ListenerGroup, which closes its fds
        return result;
    }

    /// <summary>This server accepts on the sockets: the running one may stop. Waits for it to confirm.</summary>
    public void Confirm()
    {
        _channel.SendText("ready");
        var answer = _channel.ReceiveText();
        if (answer != "released")
        {
            throw new IOException($"the running server did not confirm it stopped accepting (answered '{answer ?? "nothing"}')");
        }
    }

    /// <summary>Tells the running server this process will not take its sockets, so it keeps serving.</summary>
    public ListenerHandoverException Refuse(string reason)
    {
        TellRefused(_channel, reason);
        return new ListenerHandoverException($"takeover from {_path} failed: {reason}");
    }

    /// <summary>Lets the running server know why (it keeps serving either way; a peer gone away needs no answer).</summary>
    private static void TellRefused(HandoverChannel channel, string reason)
    {
        try
        {
            channel.SendText("refuse " + reason);
        }
        catch (Exception ex) when (ex is NativeCallException or IOException)
        {
            // The running server went away: nothing to tell it.
        }
    }

    private static string Name(ListenerSteering steering) => steering.ToString().ToLowerInvariant();

    public void Dispose()
    {
        if (!_claimed.All(c => c))
        {
            foreach (int fd in _fds)
            {
                FileCalls.Close(fd); // our duplicates only: the running server's sockets stay open
            }

            Array.Fill(_claimed, true);
        }

        _channel.Dispose();
    }
}
