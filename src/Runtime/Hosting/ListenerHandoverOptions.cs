namespace Fastsock.Hosting;

/// <summary>
/// Handing listening sockets from a running server to its successor without closing them (as HAProxy's <c>-x</c> or
/// nginx's binary upgrade): the sockets keep their reuseport group, their order (so the CPU steering maps as before)
/// and their queued connections. The old server stops accepting, finishes what is in flight and stops; see
/// <see cref="FastsockServer.HandedOver"/>.
/// </summary>
public sealed class ListenerHandoverOptions
{
    /// <summary>
    /// A Unix socket path where this server offers its listening sockets to a successor (created mode 0600, removed on
    /// stop). Null (default): not offered.
    /// </summary>
    public string? OfferPath { get; set; }

    /// <summary>
    /// The <see cref="OfferPath"/> of a running server whose listening sockets this one takes at start instead of
    /// binding. The endpoints, the worker count and the steering mode must match, or the start fails with a
    /// <see cref="ListenerHandoverException"/> and the running server keeps serving. Null (default): bind.
    /// </summary>
    public string? TakeOverFrom { get; set; }

    /// <summary>
    /// Use the listening sockets systemd passes (socket activation: <c>LISTEN_FDS</c>, <c>LISTEN_PID</c>, fds from 3),
    /// matched to the endpoints by their bound address. Default true; ignored when the variables are not for this process.
    /// </summary>
    public bool UseSystemdSockets { get; set; } = true;

    /// <summary>
    /// When a hand-over is configured, turn on <c>net.ipv4.tcp_migrate_req</c> (needs root) so connections queued on a
    /// listener that does close move to another member of its group; the log says whether it is on. Default true.
    /// </summary>
    public bool EnableTcpMigrateReq { get; set; } = true;

    /// <summary>
    /// After a hand-over, how long the old server's keep-alive connections may still bring their next request (answered,
    /// then closed) before the idle ones are closed: a client that sends just as its idle connection is closed sees an
    /// error, one that is told <c>Connection: close</c> does not. Counts within the shutdown timeout. Default 2 s.
    /// </summary>
    public TimeSpan KeepAliveGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// TLS session ticket keys that go with the listening sockets: an offering server sends them to its successor, and
    /// a server taking over replaces these with the running server's before it accepts a connection. Give the same
    /// object to the layers' <see cref="Transport.Tls.TlsServerOptions.TicketKeys"/>, so clients' tickets resume
    /// in the new process. Null (default): no keys are handed over.
    /// </summary>
    public Transport.Tls.TlsTicketKeys? TicketKeys { get; set; }

    /// <summary>
    /// How long either process waits for the other during a hand-over (each message on the hand-over socket, and the
    /// workers letting go of their listeners). A fraction of a millisecond counts as a whole one (never given up early).
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>: wait for the other process as long as it takes. Zero and
    /// other negative values are rejected at start. Default 30 s.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        if (KeepAliveGrace < TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"Handover.KeepAliveGrace {KeepAliveGrace} is negative; give how long the old server's keep-alive connections may still bring a request after a hand-over (e.g. 00:00:02), or zero to close the idle ones at once.");
        }

        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException(
                $"Handover.Timeout {Timeout} is not positive; give a positive time (e.g. 00:00:30), or Timeout.InfiniteTimeSpan to wait for the other process as long as it takes.");
        }

        if (TicketKeys is { FromKeyFile: true })
        {
            throw new ArgumentException("Handover.TicketKeys were read from a file, which each process reads itself; hand over a new TlsTicketKeys() or none.");
        }

        if (OfferPath is { Length: 0 } || TakeOverFrom is { Length: 0 })
        {
            throw new ArgumentException("Handover.OfferPath and Handover.TakeOverFrom must be socket paths or null, not empty.");
        }
    }
}
