using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// What a connection after its TLS handshake shares on both engines and both sides: its pipes carry plaintext, what
/// was negotiated is its <see cref="ITlsConnectionFeature"/>, and everything else (worker, addresses, closing) is taken
/// from the inner connection. The engines differ in their pipes and in where the negotiated values come from.
/// </summary>
internal abstract class TlsConnectionBase : Connection, IDuplexPipe, ITlsConnectionFeature
{
    private protected TlsConnectionBase(Connection inner, Worker worker)
    {
        Inner = inner;
        Worker = worker;
    }

    /// <summary>The connection the records travel on (the forwarder watches its socket's send queue).</summary>
    internal Connection Inner { get; }

    private protected Worker Worker { get; }

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

    public abstract SslProtocols Protocol { get; }

    public abstract SslApplicationProtocol ApplicationProtocol { get; }

    public abstract string ServerName { get; }

    public abstract TlsCipherSuite CipherSuite { get; }

    private protected override Worker? DeadlineWorker => Worker;

    public override void Abort() => Inner.Abort();
}
