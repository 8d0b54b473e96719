using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// A connection after its handshake under the OpenSSL engine: the handler's pipes carry plaintext, decrypted on the
/// worker as records arrive and encrypted at each flush. Everything else (worker, addresses, closing) is the inner
/// connection's.
/// </summary>
internal sealed class OpenSslConnection : TlsConnectionBase
{
    private readonly OpenSslSession _session;
    private readonly OpenSslPlaintextReader _reader;
    private readonly OpenSslPlaintextWriter _writer;
    private string? _serverName;

    public OpenSslConnection(Connection inner, OpenSslSession session, Worker worker, SslApplicationProtocol protocol)
        : base(inner, worker)
    {
        _session = session;
        _writer = new OpenSslPlaintextWriter(session, inner.Transport.Output, worker);
        _reader = new OpenSslPlaintextReader(session, inner.Transport, _writer, worker);
        Protocol = session.Protocol;
        CipherSuite = session.CipherSuite;
        ApplicationProtocol = protocol;
    }

    public override PipeReader Input => _reader;

    public override PipeWriter Output => _writer;

    public override SslProtocols Protocol { get; }

    public override SslApplicationProtocol ApplicationProtocol { get; }

    public override string ServerName => _serverName ??= _session.ServerName;

    public override TlsCipherSuite CipherSuite { get; }

    /// <summary>Calls of the handler's pipes that arrived off the worker and were posted back to it.</summary>
    public long HopsToWorker => _reader.HopsToWorker + _writer.HopsToWorker;

    /// <summary>Starts decrypting what the client sends (records that came with its last handshake flight first).</summary>
    public void Start() => _reader.Start();

    /// <summary>
    /// After the handler: sends what it left unflushed, stops decrypting, then a close_notify, so the client can tell
    /// the end of the data from a cut connection. A peer that is already gone only makes this fail quietly.
    /// </summary>
    public async Task CloseAsync()
    {
        try
        {
            await _writer.CompleteAsync().ConfigureAwait(true);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer reset or the connection was aborted: nothing left to tell it.
        }

        await new WorkerHop(Worker);
        await _reader.CompleteAsync().ConfigureAwait(true);
        await _reader.StopAsync().ConfigureAwait(true);
        await new WorkerHop(Worker);
        try
        {
            _session.Shutdown();
            _session.DrainTo(Inner.Transport.Output);
            await Inner.Transport.Output.FlushAsync().ConfigureAwait(true);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // As above.
        }

        await new WorkerHop(Worker);
    }
}
