using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// (a) SslStream as the runtime's TLS layer drives it: ReadAsync into a 16 KiB buffer (the plaintext reader's segment),
/// WriteAsync of the response then FlushAsync (what StreamPipeWriter does on a flush), over a stream whose calls
/// complete synchronously (ConnectionPipeStream's, when the data is there).
/// </summary>
internal sealed class SslStreamExchange : IExchange
{
    private readonly MemoryTransport _serverTransport;
    private readonly MemoryTransport _clientTransport;
    private readonly SslStream _server;
    private readonly SslStream _client;
    private readonly byte[] _plain = new byte[16 * 1024];
    private byte[] _pendingForClient = [];

    private SslStreamExchange(MemoryTransport serverTransport, MemoryTransport clientTransport, SslStream server, SslStream client)
    {
        _serverTransport = serverTransport;
        _clientTransport = clientTransport;
        _server = server;
        _client = client;
    }

    public string Name => "SslStream";

    public string Negotiated => $"{_server.SslProtocol} {_server.NegotiatedCipherSuite}";

    public static async Task<SslStreamExchange> CreateAsync(X509Certificate2 certificate, SslProtocols protocol)
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var serverTransport = new MemoryTransport(toServer.Reader, toClient.Writer);
        var clientTransport = new MemoryTransport(toClient.Reader, toServer.Writer);
        var server = new SslStream(serverTransport, leaveInnerStreamOpen: true);
        // The client trusts exactly the benchmark's own certificate.
        string expected = certificate.GetCertHashString();
        var client = new SslStream(clientTransport, leaveInnerStreamOpen: true, (_, presented, _, _) => presented?.GetCertHashString() == expected);
        var context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        await Task.WhenAll(
            server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = context, EnabledSslProtocols = protocol }),
            client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", EnabledSslProtocols = protocol }));
        var exchange = new SslStreamExchange(serverTransport, clientTransport, server, client);
        _ = serverTransport.EndHandshake();
        exchange._pendingForClient = clientTransport.EndHandshake();
        return exchange;
    }

    public async Task PrepareAsync(int count)
    {
        _clientTransport.ResetOutput(count * (Payload.Request.Length + 64), count);
        for (int i = 0; i < count; i++)
        {
            await _client.WriteAsync(Payload.Request);
        }

        if (_clientTransport.OutputWrites != count)
        {
            throw new InvalidOperationException($"SslStream wrote {_clientTransport.OutputWrites} times for {count} requests: one record per write expected");
        }

        _serverTransport.SetInput(_clientTransport.Output, _clientTransport.OutputEnds, count);
    }

    public async Task ServeAsync(int count)
    {
        _serverTransport.ResetOutput(count * (Payload.Response.Length + 64), count);
        for (int i = 0; i < count; i++)
        {
            int n = await _server.ReadAsync(_plain);
            if (n != Payload.Request.Length)
            {
                throw new InvalidOperationException($"SslStream: request {i} read as {n} B, not {Payload.Request.Length} B");
            }

            await _server.WriteAsync(Payload.Response);
            await _server.FlushAsync();
        }
    }

    public async Task VerifyAsync(int count)
    {
        // The first batch carries what the server sent after the handshake (TLS 1.3 session tickets) in front.
        var output = _serverTransport.Output.AsSpan(0, _serverTransport.OutputLength);
        byte[] input = new byte[_pendingForClient.Length + output.Length];
        _pendingForClient.CopyTo(input, 0);
        output.CopyTo(input.AsSpan(_pendingForClient.Length));
        _pendingForClient = [];
        _clientTransport.SetInput(input, [input.Length], 1);
        var response = new byte[Payload.Response.Length];
        for (int i = 0; i < count; i++)
        {
            int got = 0;
            while (got < response.Length)
            {
                got += await _client.ReadAsync(response.AsMemory(got));
            }

            if (!response.AsSpan().SequenceEqual(Payload.Response))
            {
                throw new InvalidOperationException($"SslStream: response {i} did not come back as sent");
            }
        }
    }

    public void Dispose()
    {
        _server.Dispose();
        _client.Dispose();
    }
}
