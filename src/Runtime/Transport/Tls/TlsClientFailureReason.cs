namespace Fastsock.Transport.Tls;

/// <summary>Why a TLS handshake to a server did not complete.</summary>
public enum TlsClientFailureReason
{
    /// <summary>The server did not finish within the handshake timeout.</summary>
    Timeout,

    /// <summary>The server's certificate does not chain to a trusted root (unknown CA, self-signed, incomplete chain).</summary>
    UntrustedRoot,

    /// <summary>The server's certificate is not issued for the name asked for.</summary>
    NameMismatch,

    /// <summary>The server's certificate (or one of its chain) has expired or is not valid yet.</summary>
    Expired,

    /// <summary>The handshake was refused: a fatal alert, no shared protocol or cipher, a malformed message, no certificate.</summary>
    HandshakeError,

    /// <summary>The server closed or reset the connection before the handshake completed.</summary>
    PeerClosed,
}
