namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// One server endpoint after its handshake, measured on what it does per keep-alive request: decrypt one request record
/// and encrypt one response record. The client's side (encrypting the requests, checking the answers) is not timed.
/// </summary>
internal interface IExchange : IDisposable
{
    string Name { get; }

    /// <summary>Protocol and cipher the handshake agreed on.</summary>
    string Negotiated { get; }

    /// <summary>The client encrypts <paramref name="count"/> requests, one record each (not timed).</summary>
    Task PrepareAsync(int count);

    /// <summary>The server decrypts the prepared requests and encrypts one response to each: the timed part.</summary>
    Task ServeAsync(int count);

    /// <summary>The client decrypts the responses and checks them (not timed).</summary>
    Task VerifyAsync(int count);
}

/// <summary>What crosses the connection per exchange: the sizes of a small keep-alive request and its answer.</summary>
internal static class Payload
{
    public static readonly byte[] Request = System.Text.Encoding.ASCII.GetBytes(
        "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n");

    public static readonly byte[] Response = System.Text.Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Thu, 26 Nov 2026 23:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!");
}
