namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// The server side of one handshake at a time. Every call here is the server's own work and is what the benchmark
/// times: accepting a connection with the client's first flight, each later flight, and freeing the connection.
/// </summary>
internal interface IHandshakeServer : IDisposable
{
    string Name { get; }

    /// <summary>A new connection whose first bytes are <paramref name="clientHello"/>; the reply goes to <paramref name="output"/>. True once the server's handshake is done.</summary>
    bool Accept(ReadOnlySpan<byte> clientHello, ByteSink output);

    /// <summary>The client's next flight; true once the server's handshake is done.</summary>
    bool Continue(ReadOnlySpan<byte> input, ByteSink output);

    /// <summary>Whether the server resumed a session, where it can tell (libssl); null where it cannot (SslStream).</summary>
    bool? Reused { get; }

    /// <summary>Ends the connection and frees what it held.</summary>
    void Close();
}
