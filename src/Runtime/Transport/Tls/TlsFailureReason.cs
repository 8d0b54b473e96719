namespace Fastsock.Transport.Tls;

/// <summary>Why a TLS handshake did not complete, or (<see cref="BadRecord"/>) why a connection failed after it.</summary>
public enum TlsFailureReason
{
    /// <summary>The client did not finish within the handshake timeout (a stalled or slow client).</summary>
    Timeout,

    /// <summary>The first bytes were not a TLS handshake record: plaintext HTTP or random bytes on a TLS port.</summary>
    NotTls,

    /// <summary>The handshake was rejected: a malformed message, no shared protocol or cipher, a fatal alert.</summary>
    HandshakeError,

    /// <summary>The client closed or reset the connection before the handshake completed.</summary>
    PeerClosed,

    /// <summary>
    /// After the handshake, a record from the client failed to decrypt or verify (bad_record_mac, a decode error): the
    /// connection got OpenSSL's fatal alert and was closed. Counted by the OpenSSL engine; not a handshake failure.
    /// </summary>
    BadRecord,
}
