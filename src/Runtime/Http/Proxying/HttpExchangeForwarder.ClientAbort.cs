namespace Fastsock.Http.Proxying;

// A client that leaves while its request is with the server. Like HAProxy's "option abortonclose": once the client's
// FIN (or reset) is read while the response head is awaited, the exchange ends as ClientAborted instead of being found
// out only when the response is written. The response is then read and discarded up to MaxDrainBody
// (HttpExchangeForwarder.Drain.cs) so the backend connection can be kept; past that bound it is closed. A client
// that leaves later, inside the body, is seen by the failed flush instead (HttpExchangeForwarder.Body.cs). A client
// that half-closed after pipelining more requests still wants its answers: it is not treated as gone.
public sealed partial class HttpExchangeForwarder
{
    private static readonly Action<object?> s_clientInputEnded = static state => ((HttpExchangeForwarder)state!).OnClientInputEnded();

    private bool _clientLeft;

    /// <summary>Watches the client while the response head is awaited; dispose the registration when it arrived.</summary>
    private CancellationTokenRegistration WatchClient()
    {
        _clientLeft = false;
        return _client.InputEnded.UnsafeRegister(s_clientInputEnded, this);
    }

    /// <summary>On the worker: the client's input ended. The only read of the client's input then is the held request, if any.</summary>
    private void OnClientInputEnded()
    {
        if (_holdingRequest)
        {
            // The request is kept for a replay: its read is still open, and bytes after it are a pipelined request.
            if (_requestBuffer.Slice(HeldEnd).Length != 0)
            {
                return;
            }
        }
        else if (_input.TryRead(out var buffered))
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
