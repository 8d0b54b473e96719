using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// A connection after its TLS handshake: the handler's pipes carry plaintext through an <see cref="SslStream"/> over
/// the inner connection's pipes. Everything else (worker, addresses, closing) is the inner connection's.
/// </summary>
internal sealed class TlsConnection : Connection, IDuplexPipe, ITlsConnectionFeature
{
    private readonly Connection _inner;
    private readonly SslStream _ssl;
    private readonly Worker _worker;

    public TlsConnection(Connection inner, SslStream ssl, Worker worker)
    {
        _inner = inner;
        _ssl = ssl;
        _worker = worker;
        Input = new WorkerBoundReader(PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true)), worker);
        Output = new WorkerBoundWriter(PipeWriter.Create(ssl, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true)), worker);
    }

    public override IDuplexPipe Transport => this;

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public override EndPoint? LocalEndPoint => _inner.LocalEndPoint;

    public override EndPoint? RemoteEndPoint => _inner.RemoteEndPoint;

    public override int WorkerIndex => _inner.WorkerIndex;

    public override int WorkerCpu => _inner.WorkerCpu;

    public override int IncomingCpu => _inner.IncomingCpu;

    public override CancellationToken ConnectionClosed => _inner.ConnectionClosed;

    public override bool IsShutdownRequested => _inner.IsShutdownRequested;

    public override CancellationToken InputEnded => _inner.InputEnded;

    public SslProtocols Protocol => _ssl.SslProtocol;

    public SslApplicationProtocol ApplicationProtocol => _ssl.NegotiatedApplicationProtocol;

    public string ServerName => _ssl.TargetHostName;

    public TlsCipherSuite CipherSuite => _ssl.NegotiatedCipherSuite;

    private protected override Worker? DeadlineWorker => _worker;

    public override void Abort() => _inner.Abort();

    /// <summary>
    /// After the handler: sends what it left unflushed and a close_notify, so the client can tell the end of the data
    /// from a cut connection. A peer that is already gone only makes this fail quietly.
    /// </summary>
    public async Task CloseAsync()
    {
        try
        {
            await Output.CompleteAsync().ConfigureAwait(false);
            await Input.CompleteAsync().ConfigureAwait(false);
            await _ssl.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer reset or the connection was aborted: nothing left to tell it.
        }
    }
}
