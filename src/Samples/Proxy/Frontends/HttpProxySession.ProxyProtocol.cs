using System.Net;
using Fastsock.Http.Proxying;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Frontends;

// The PROXY protocol in http mode. In: a frontend with acceptProxy reads the header once, before the first request;
// its source is the client for X-Forwarded-For and balance source. Out: a server with sendProxy gets the header once
// per backend connection, when it is opened, ahead of the first request head.
//
// A backend connection that carried a PROXY header speaks for one client only. HAProxy marks such connections
// private: they stay attached to the client session that opened them, are reused by that session's next requests,
// and are never handed to another client (http-reuse does not share them). The same here: a server with sendProxy
// never gets its connections back into the worker's shared pool; the session keeps its one idle connection and
// closes it when it picks another server or ends.
internal sealed partial class HttpProxySession
{
    private ClientEndPoints _peer;
    private Connection? _private;
    private int _privateServer = -1;

    // The server the private connection goes to: a slot index alone could name another server after a reload or a
    // DNS change reused the slot.
    private ServerState? _privateOwner;
    private int _backendServer = -1; // the server of _backend, for the counters

    /// <summary>Reads the PROXY header when the frontend expects one; false: it was bad or missing (logged, counted), close.</summary>
    private async ValueTask<bool> ReceiveProxyHeaderAsync()
    {
        _peer = new ClientEndPoints(null, _client);
        if (!_frontend.Settings.AcceptProxy)
        {
            return true;
        }

        if (await _frontend.ProxyHeaders.ReceiveAsync(_client, _frontend.Settings).ConfigureAwait(true) is not { } peer)
        {
            _frontend.Counters?.ProxyHeaderError(_client.WorkerIndex);
            return false;
        }

        _peer = peer;
        if (peer.Announced is IPEndPoint source)
        {
            _clientAddress = source.Address.GetAddressBytes();
            _sourceHash = SourceHash(_clientAddress);
            // X-Forwarded-For names the announced client; once per connection, before the first request.
            _forwarder.SetClientAddress(_clientAddress);
        }

        return true;
    }

    /// <summary>A new connection to <paramref name="server"/>, with the PROXY header the server asks for already written (not flushed).</summary>
    private async ValueTask<Connection> ConnectAsync(ServerState server)
    {
        var connection = await _frontend.OpenBackendAsync(server, _client).ConfigureAwait(true);
        _backendServer = server.Index;
        if (server.Settings.SendProxy != ProxyHeaderMode.None)
        {
            ProxyHeaderExchange.Write(connection.Transport.Output, server.Settings.SendProxy, _peer);
        }

        return connection;
    }

    /// <summary>An idle connection to <paramref name="server"/>: this session's private one, else one from the worker's pool.</summary>
    private Connection? TakeIdle(ServerState server)
    {
        _backendServer = server.Index;
        if (_private is { } kept)
        {
            bool usable = ReferenceEquals(_privateOwner, server) && BackendConnectionPool.IsStillIdle(kept);
            int keptServer = _privateServer;
            _private = null;
            _privateServer = -1;
            _privateOwner = null;
            if (usable)
            {
                _frontend.Counters?.BackendReused(_client.WorkerIndex, server.Index);
                return kept;
            }

            _frontend.CloseBackend(kept, _client.WorkerIndex, keptServer);
        }

        return _frontend.PoolFor(_client.WorkerIndex, server.Index).Take(Environment.TickCount64);
    }

    /// <summary>Keeps the backend connection of a completed exchange: privately when it carried a PROXY header, else in the pool.</summary>
    private void KeepBackend(ServerState server)
    {
        if (server.IsRetired || !ReferenceEquals(_frontend.Backend.ServerAt(server.Index), server))
        {
            // Removed by a reload or DNS while this exchange ran (its slot may already serve another server): the
            // connection must not be kept where the slot's new server would take it.
            _frontend.CloseBackend(_backend!, _client.WorkerIndex, server.Index);
            _backend = null;
            return;
        }

        if (server.Settings.SendProxy != ProxyHeaderMode.None)
        {
            _private = _backend;
            _privateServer = server.Index;
            _privateOwner = server;
            _backend = null;
            return;
        }

        _frontend.ReturnToPool(_frontend.PoolFor(_client.WorkerIndex, server.Index), _backend!, _client.WorkerIndex);
        _backend = null;
    }

    private void ClosePrivate()
    {
        if (_private is { } kept)
        {
            _private = null;
            _privateOwner = null;
            _frontend.CloseBackend(kept, _client.WorkerIndex, _privateServer);
        }
    }
}
