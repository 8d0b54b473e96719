using System.Net.Security;
using Fastsock.Transport.Tls;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// (a) SslStream as the runtime's TlsLayer.Server drives it, minus the socket and the worker: the server options come
/// from the runtime's own <see cref="TlsCertificateSelector"/> over <see cref="TlsServerOptions"/> defaults (one
/// SslStreamCertificateContext built once, TLS 1.2 and 1.3, ALPN http/1.1, AllowTlsResume, no client certificate, no
/// revocation check), handed over through the same ServerOptionsSelectionCallback overload; per connection a new
/// transport, a new SslStream, AuthenticateAsServerAsync, the layer's stats update (<see cref="TlsStats"/>) and
/// DisposeAsync. Not included: the worker hop, the handshake deadline on the timer wheel, the first-byte check,
/// TlsConnection (a few allocations and no crypto) and the layer's ResumptionWitness (its constructor differs between
/// this branch and main; a profile put its Observe at 0.06 % of the samples), so the stats count no resumption.
/// </summary>
internal sealed class SslStreamHandshakeServer : IHandshakeServer
{
    private static readonly ServerOptionsSelectionCallback Select = static (_, hello, state, _) =>
        ValueTask.FromResult(((TlsCertificateSelector)state!).Select(hello.ServerName));

    private readonly TlsCertificateSelector _selector;
    private readonly SslServerAuthenticationOptions? _direct;
    private readonly TlsStats _stats;
    private HandshakeTransport? _transport;
    private SslStream? _stream;
    private Task? _handshake;

    /// <param name="options">The layer's options.</param>
    /// <param name="direct">
    /// An experiment, not the layer: pass the selected options straight to AuthenticateAsServerAsync instead of through
    /// the selection callback (what a layer with one certificate and no SNI could do).
    /// </param>
    public SslStreamHandshakeServer(TlsServerOptions options, bool direct)
    {
        _selector = new TlsCertificateSelector(options);
        _direct = direct ? _selector.Select(null) : null;
        _stats = options.Stats;
        Name = direct ? "SslStream, options direct" : "SslStream";
    }

    public string Name { get; }

    /// <summary>SslStream does not say (the client's SSL_session_reused is the check).</summary>
    public bool? Reused => null;

    public bool Accept(ReadOnlySpan<byte> clientHello, ByteSink output)
    {
        _transport = new HandshakeTransport { Output = output };
        _transport.Deliver(clientHello);
        _stream = new SslStream(_transport, leaveInnerStreamOpen: false);
        _handshake = _direct is { } options
            ? _stream.AuthenticateAsServerAsync(options, CancellationToken.None)
            : _stream.AuthenticateAsServerAsync(Select, _selector, CancellationToken.None);
        return Done();
    }

    public bool Continue(ReadOnlySpan<byte> input, ByteSink output)
    {
        _transport!.Output = output;
        _transport.Deliver(input);
        return Done();
    }

    private bool Done()
    {
        if (_handshake!.IsCompleted)
        {
            _handshake.GetAwaiter().GetResult(); // a failed handshake throws its own exception here
            var ssl = _stream!;
            _stats.Succeeded(0, ssl.SslProtocol, ssl.NegotiatedApplicationProtocol, ssl.NegotiatedCipherSuite, resumed: false);
            return true;
        }

        if (!_transport!.ReadPending)
        {
            // Not done and not waiting for the client: SslStream went on elsewhere (the thread pool), off this
            // thread's CPU clock. The figures would be wrong, so the run stops.
            throw new InvalidOperationException("SslStream's handshake neither completed nor waited for a read: part of it ran off this thread");
        }

        return false;
    }

    public void Close()
    {
        var dispose = _stream!.DisposeAsync();
        if (!dispose.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("SslStream.DisposeAsync did not complete synchronously");
        }

        _stats.Closed(0, 0);
        _stream = null;
        _transport = null;
        _handshake = null;
    }

    public void Dispose()
    {
        if (_stream is not null)
        {
            Close();
        }
    }
}
