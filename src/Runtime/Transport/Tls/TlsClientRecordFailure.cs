namespace Fastsock.Transport.Tls;

/// <summary>
/// Why a read from a server failed at the TLS layer after the handshake (<see cref="TlsLayer.RecordFailureOf"/>):
/// counted per server in <see cref="TlsClientStats"/>. Either way the connection is closed without a close_notify and
/// must not be used again.
/// </summary>
public enum TlsClientRecordFailure
{
    /// <summary>No record was refused: the reads succeeded, or the transport failed or was cancelled under them.</summary>
    None,

    /// <summary>A record from the server failed to decrypt or verify (a bad authentication tag, a malformed record, a fatal alert).</summary>
    Rejected,

    /// <summary>The server's connection ended (a FIN) inside a record: the record was cut short.</summary>
    Truncated,
}
