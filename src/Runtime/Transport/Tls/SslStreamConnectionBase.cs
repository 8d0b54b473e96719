using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// A connection under the SslStream engine, server or client side: plaintext pipes through an <see cref="SslStream"/>
/// over the inner connection's pipes, resuming on the connection's worker, and what was negotiated read from the
/// stream. The two sides differ only in how their ends complete.
/// </summary>
internal abstract class SslStreamConnectionBase : TlsConnectionBase
{
    private protected SslStreamConnectionBase(Connection inner, SslStream ssl, Worker worker)
        : base(inner, worker)
    {
        Ssl = ssl;
        PlaintextReader = new WorkerBoundReader(PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true)), worker);
        PlaintextWriter = new TlsPlaintextWriter(ssl, inner.Transport.Output, worker);
    }

    private protected SslStream Ssl { get; }

    /// <summary>The plaintext reader over the stream, before any wrapper a side puts around it.</summary>
    private protected WorkerBoundReader PlaintextReader { get; }

    /// <summary>The plaintext writer over the stream, before any wrapper a side puts around it.</summary>
    private protected TlsPlaintextWriter PlaintextWriter { get; }

    public override SslProtocols Protocol => Ssl.SslProtocol;

    public override SslApplicationProtocol ApplicationProtocol => Ssl.NegotiatedApplicationProtocol;

    public override string ServerName => Ssl.TargetHostName;

    public override TlsCipherSuite CipherSuite => Ssl.NegotiatedCipherSuite;
}
