namespace Fastsock.Transport.Tls;

/// <summary>
/// A TLS handshake to a server failed (<see cref="TlsLayer.ClientAsync"/>); the message names the server, the reason
/// and what to do. The connection under it is already closed.
/// </summary>
public sealed class TlsHandshakeException : IOException
{
    /// <summary>A failure for <paramref name="reason"/> that <paramref name="message"/> explains.</summary>
    public TlsHandshakeException(TlsClientFailureReason reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the handshake failed.</summary>
    public TlsClientFailureReason Reason { get; }
}
