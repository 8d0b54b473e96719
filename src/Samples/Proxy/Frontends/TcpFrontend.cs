using System.Net;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Health;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Samples.Proxy.Tls;
using Fastsock.Transport;
using Fastsock.Transport.Tls;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Frontends;

/// <summary>
/// <c>mode tcp</c>: each client connection gets a server (balancer of the client's worker, retries on connect
/// failures), then bytes are forwarded both ways (splice or copy) until both sides are done. No server left: the
/// client connection is closed, as HAProxy does in tcp mode.
/// </summary>
internal sealed partial class TcpFrontend(FrontendSettings settings, BackendPool backend, ServerConnector connector, ForwardingMode forwarding, int retries, int workerCount, ILogger logger)
{
    // maxconn is enforced per worker: a global counter would be a cache line every core writes per connection.
    private readonly int _maxConnPerWorker = Math.Max(1, settings.MaxConn / workerCount);
    private readonly WorkerSessions[] _workers = new WorkerSessions[workerCount];
    private readonly ProxyHeaderExchange _proxyHeaders = new(logger, ProxyHeaderExchange.DefaultTimeout);

    /// <summary>Where sessions, bytes and errors are counted (the admin endpoint reads them); null: not counted.</summary>
    public FrontendCounters? Counters { get; init; }

    public async Task HandleAsync(Connection client)
    {
        ref var sessions = ref _workers[client.WorkerIndex];
        if (sessions.Open >= _maxConnPerWorker)
        {
            MaxConnReached(logger, settings.Name, settings.MaxConn);
            return;
        }

        sessions.Open++;
        Counters?.SessionStarted(client.WorkerIndex);
        try
        {
            await ProxyAsync(client).ConfigureAwait(true);
        }
        finally
        {
            _workers[client.WorkerIndex].Open--;
            Counters?.SessionEnded(client.WorkerIndex);
        }
    }

    private async Task ProxyAsync(Connection client)
    {
        if (await _proxyHeaders.ReceiveAsync(client, settings).ConfigureAwait(true) is not { } peer)
        {
            Counters?.ProxyHeaderError(client.WorkerIndex);
            return;
        }

        var balancer = backend.BalancerFor(client.WorkerIndex);
        ulong sourceHash = backend.Settings.Balance == BalanceAlgorithm.Source ? SourceHash(peer.Source) : 0;
        Connection? upstream = null;
        ServerState? server = null;
        var faults = backend.Settings.Faults;
        ulong tried = 0;
        for (int attempt = 0; attempt <= retries && upstream is null; attempt++)
        {
            // Redispatch: a server that failed this connection is left out while another one is UP.
            server = attempt > 0 && !faults.Redispatch ? server
                : balancer.Pick(sourceHash, tried) ?? (tried != 0 ? balancer.Pick(sourceHash, excluded: 0) : null);
            if (server is null)
            {
                Counters?.NoServer(client.WorkerIndex);
                NoServer(logger, settings.Name, backend.Settings.Name);
                return;
            }

            try
            {
                upstream = await connector.ConnectAsync(server, backend.RouteOf(server), client.ConnectionClosed).ConfigureAwait(true);
                Counters?.BackendOpened(client.WorkerIndex, server.Index);
            }
            catch (Exception ex) when (ServerConnector.IsConnectFailure(ex))
            {
                bool again = attempt < retries && (faults.RetryOn & RetryOn.ConnFailure) != 0;
                Counters?.ConnectFailed(client.WorkerIndex, server, willRetry: again);
                backend.Health.Failed(server, PassiveHealth.ConnectFailureOf(ex), ex.Message);
                ConnectFailed(logger, backend.Settings.Name, server.Settings.Name, attempt + 1, ex.Message);
                tried |= Balancer.Bit(server);
                if (!again)
                {
                    break;
                }
            }
        }

        if (upstream is null || server is null)
        {
            return;
        }

        if (!await SendProxyHeaderAsync(client.WorkerIndex, upstream, server, peer).ConfigureAwait(true))
        {
            return;
        }

        balancer.OnOpened(server);
        Counters?.ServerConnected(client.WorkerIndex, server);
        var result = default(ForwardResult);
        try
        {
            // Bytes to a TLS server are records SslStream writes: splice would bypass it, so copy.
            var mode = server.Settings.Tls is null ? forwarding : ForwardingMode.Copy;
            result = await ConnectionForwarder.ForwardAsync(client, upstream, mode).ConfigureAwait(true);
        }
        finally
        {
            balancer.OnClosed(server);
            if (result.Error is not null && TlsLayer.RecordFailureOf(upstream) is var failure and not TlsClientRecordFailure.None)
            {
                // The runtime counts the record per server; the line says which session it ended. The forward aborted
                // the server's side at once and reset the client's once every good byte before the record had reached
                // the client (or after a few seconds of a client not reading): a reset, as after a reset from a plain
                // server, so the client can tell its stream was cut.
                RecordFailed(logger, settings.Name, backend.Settings.Name, server.Settings.Name, BackendTls.Describe(failure));
            }

            Counters?.Forwarded(client.WorkerIndex, server, result);
            Counters?.BackendClosed(client.WorkerIndex, server.Index, BackendCloseReason.AfterUse);
        }
    }

    /// <summary>
    /// Sends the PROXY header the server asks for (none: nothing). False when it could not be sent: the server
    /// connection is aborted and counted as a failed connect, and the caller closes the client. Forwarding on it would
    /// hand the client's bytes to a server that reads them as the header, or to no one.
    /// </summary>
    private async ValueTask<bool> SendProxyHeaderAsync(int worker, Connection upstream, ServerState server, ClientEndPoints peer)
    {
        var mode = server.Settings.SendProxy;
        if (mode == ProxyHeaderMode.None)
        {
            return true;
        }

        string failure;
        try
        {
            var output = upstream.Transport.Output;
            ProxyHeaderExchange.Write(output, mode, peer);
            var flushed = await output.FlushAsync().ConfigureAwait(true);
            if (!flushed.IsCompleted && !flushed.IsCanceled)
            {
                return true;
            }

            failure = "the server closed the connection before its PROXY header was sent";
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Whatever the send threw, the connection is released below: nothing else would close it.
            failure = ex.Message;
        }

        upstream.Abort();
        upstream.Transport.Input.Complete();
        upstream.Transport.Output.Complete();
        Counters?.ConnectFailed(worker, server, willRetry: false);
        Counters?.BackendClosed(worker, server.Index, BackendCloseReason.AfterUse);
        backend.Health.Failed(server, ExchangeFailure.ConnectError, failure);
        ProxyHeaderSendFailed(logger, backend.Settings.Name, server.Settings.Name, mode, failure);
        return false;
    }

    /// <summary>The client's address folded into 64 bits (the source balancer mixes it further).</summary>
    private static ulong SourceHash(EndPoint? remote)
    {
        if (remote is not IPEndPoint ip)
        {
            return 0;
        }

        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        ip.Address.TryWriteBytes(bytes, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes) ^ (System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]) * 0x9E3779B97F4A7C15UL);
    }

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "Frontend {Frontend}: maxconn {MaxConn} reached; closing a new connection")]
    private static partial void MaxConnReached(ILogger logger, string frontend, int maxConn);

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Frontend {Frontend}: no server of backend {Backend} is up; closing the client connection")]
    private static partial void NoServer(ILogger logger, string frontend, string backend);

    [LoggerMessage(EventId = 313, Level = LogLevel.Warning, Message = "Backend {Backend}: sending the PROXY {Mode} header to server {Server} failed ({Reason}); closing the client connection")]
    private static partial void ProxyHeaderSendFailed(ILogger logger, string backend, string server, ProxyHeaderMode mode, string reason);

    [LoggerMessage(EventId = 314, Level = LogLevel.Warning, Message = "Frontend {Frontend}, backend {Backend}, server {Server}: the server {Failure}; the client's connection was reset, and the connection to the server was closed")]
    private static partial void RecordFailed(ILogger logger, string frontend, string backend, string server, string failure);

    [LoggerMessage(EventId = 311, Level = LogLevel.Debug, Message = "Backend {Backend}: connect to server {Server} failed (attempt {Attempt}): {Reason}")]
    private static partial void ConnectFailed(ILogger logger, string backend, string server, int attempt, string reason);
}
