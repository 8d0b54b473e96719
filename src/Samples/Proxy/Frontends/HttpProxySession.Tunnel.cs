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
internal sealed partial class HttpProxySession
{
    /// <summary>Tunnels the client and the upgraded backend connection until both are done; both are closed after.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]
    private async ValueTask TunnelAsync(ServerState server)
    {
        var backend = _backend!;
        _backend = null; // the tunnel owns it now: DropBackend must not count it, no pool may take it
        int worker = _client.WorkerIndex;
        _frontend.Counters?.Upgraded(worker, server);
        var balancer = _frontend.Backend.BalancerFor(worker);
        balancer.OnOpened(server); // a tunnel is a connection the server holds, for leastconn
        var result = default(ForwardResult);
        try
        {
            // Bytes to a TLS server are records SslStream writes: splice would bypass it, so copy.
            var mode = server.Settings.Tls is null ? _frontend.Forwarding : ForwardingMode.Copy;
            // timeouts.tunnel (else the client and server timeouts) bounds a tunnel where nothing moves either way.
            var options = new ForwardingOptions { IdleTimeout = _frontend.Timeouts.TunnelIdle };
            result = await ConnectionForwarder.ForwardAsync(_client, backend, mode, options).ConfigureAwait(true);
        }
        finally
        {
            balancer.OnClosed(server);
            _frontend.Counters?.Bytes(worker, server, result.FirstToSecond, result.SecondToFirst);
            _frontend.Counters?.BackendClosed(worker, server.Index, BackendCloseReason.AfterUse);
        }
    }
}
