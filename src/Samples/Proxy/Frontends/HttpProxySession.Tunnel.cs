using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Frontends;

// After a 101 to a request that asked for an upgrade (WebSocket): like HAProxy in http mode, the two connections
// become a tunnel, bytes forwarded both ways by the runtime's forwarder (splice or copy, as the forwarding setting
// says) until both sides are done, or until nothing moved either way for timeouts.tunnel (HAProxy's timeout tunnel;
// without it, the shorter of the client and server timeouts). The backend connection is the tunnel's from the 101 on: it never goes back to a pool.
// Like HAProxy, the server holds the tunnel as one of its connections until it ends: the exchange's count (the stats'
// current, leastconn's load) is handed over at the 101 and ends here, however the tunnel ends.
internal sealed partial class HttpProxySession
{
    /// <summary>
    /// Tunnels the client and the upgraded backend connection until both are done; both are closed after. The server
    /// count ForwardOnceAsync opened on <paramref name="balancer"/> and in the stats is still open (after a 101 it
    /// leaves it to the tunnel): closed here.
    /// </summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]
    private async ValueTask TunnelAsync(Balancer balancer, ServerState server)
    {
        var backend = _backend!;
        _backend = null; // the tunnel owns it now: DropBackend must not count it, no pool may take it
        int worker = _client.WorkerIndex;
        var result = default(ForwardResult);
        try
        {
            _frontend.Counters?.Upgraded(worker, server);
            // Bytes to a TLS server are records SslStream writes: splice would bypass it, so copy.
            var mode = server.Settings.Tls is null ? _frontend.Forwarding : ForwardingMode.Copy;
            // timeouts.tunnel (else the client and server timeouts) bounds a tunnel where nothing moves either way.
            var options = new ForwardingOptions { IdleTimeout = _frontend.Timeouts.TunnelIdle };
            result = await ConnectionForwarder.ForwardAsync(_client, backend, mode, options).ConfigureAwait(true);
        }
        finally
        {
            balancer.OnClosed(server);
            _frontend.Counters?.ServerDone(worker, server);
            _frontend.Counters?.Bytes(worker, server, result.FirstToSecond, result.SecondToFirst);
            _frontend.Counters?.BackendClosed(worker, server.Index, BackendCloseReason.AfterUse);
        }
    }
}
