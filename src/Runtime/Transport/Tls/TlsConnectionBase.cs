using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// What a connection after its TLS handshake shares on both sides: plaintext pipes through an <see cref="SslStream"/>
/// over the inner connection's pipes, resuming on the connection's worker, and everything else (worker, addresses,
/// closing) taken from the inner connection. The server and client sides differ only in how their ends complete.
/// </summary>
internal abstract class TlsConnectionBase : Connection, IDuplexPipe, ITlsConnectionFeature
{
    private protected TlsConnectionBase(Connection inner, SslStream ssl, Worker worker)
    {
        Inner = inner;
        Ssl = ssl;
        Worker = worker;
        PlaintextReader = new WorkerBoundReader(PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true)), worker);
        PlaintextWriter = new TlsPlaintextWriter(ssl, inner.Transport.Output, worker);
    }

    private protected Connection Inner { get; }

    private protected SslStream Ssl { get; }

    private protected Worker Worker { get; }

    /// <summary>The plaintext reader over the stream, before any wrapper a side puts around it.</summary>
    private protected WorkerBoundReader PlaintextReader { get; }

    /// <summary>The plaintext writer over the stream, before any wrapper a side puts around it.</summary>
    private protected TlsPlaintextWriter PlaintextWriter { get; }

    public override IDuplexPipe Transport => this;

    public abstract PipeReader Input { get; }

    public abstract PipeWriter Output { get; }

    public override EndPoint? LocalEndPoint => Inner.LocalEndPoint;

    public override EndPoint? RemoteEndPoint => Inner.RemoteEndPoint;

    public override int WorkerIndex => Inner.WorkerIndex;

    public override int WorkerCpu => Inner.WorkerCpu;

    public override int IncomingCpu => Inner.IncomingCpu;

    public override CancellationToken ConnectionClosed => Inner.ConnectionClosed;

    public override bool IsShutdownRequested => Inner.IsShutdownRequested;

    public override CancellationToken InputEnded => Inner.InputEnded;

    public SslProtocols Protocol => Ssl.SslProtocol;

    public SslApplicationProtocol ApplicationProtocol => Ssl.NegotiatedApplicationProtocol;

    public string ServerName => Ssl.TargetHostName;

    public TlsCipherSuite CipherSuite => Ssl.NegotiatedCipherSuite;

    private protected override Worker? DeadlineWorker => Worker;

    public override void Abort() => Inner.Abort();
}
