namespace Fastsock.Samples.Proxy.Frontends;

// A client that leaves while its request is with the server. Like HAProxy's "option abortonclose": once the client's
// FIN (or reset) is read while the proxy waits for the response head, the backend request is aborted (its connection
// closed, so the server can stop working on it) and counted as a client abort, instead of being found out only when
// the response is written. A client that half-closed after pipelining more requests still wants its answers: it is
// not treated as gone.
internal sealed partial class HttpProxySession
{
    private static readonly Action<object?> s_clientInputEnded = static state => ((HttpProxySession)state!).OnClientInputEnded();

    private bool _clientLeft;

    /// <summary>Watches the client while the response head is awaited; dispose the registration when it arrived.</summary>
    private CancellationTokenRegistration WatchClient()
    {
        _clientLeft = false;
        return _client.InputEnded.UnsafeRegister(s_clientInputEnded, this);
    }

    /// <summary>On the worker: the client's input ended. No read of the client's input is pending while this is watched.</summary>
    private void OnClientInputEnded()
    {
        if (_input.TryRead(out var buffered))
        {
            bool pipelined = !buffered.Buffer.IsEmpty;
            _input.AdvanceTo(buffered.Buffer.Start);
            if (pipelined)
            {
                return;
            }
        }

        _clientLeft = true;
        _backend?.Transport.Input.CancelPendingRead();
    }
}
