using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// What the handler writes between two flushes leaves as one write to the engine (SslStream's WriteAsync, OpenSSL's
/// SSL_write): one TLS record per flush for an answer up to 16 KiB, not one per piece; and what it leaves unflushed when
/// it completes its output still reaches the client. Each case on both engines.
/// </summary>
public sealed class TlsPlaintextWriterTests
{
    private static readonly X509Certificate2 Certificate = TestCertificates.Create("records.test", ["records.test"]);

    [Theory]
    [InlineData(TlsServerEngine.OpenSsl, SslProtocols.Tls12, 18, 1)]
    [InlineData(TlsServerEngine.OpenSsl, SslProtocols.Tls13, 18, 1)]
    [InlineData(TlsServerEngine.OpenSsl, SslProtocols.Tls13, 40_000, 3)] // records of at most 16 KiB
    [InlineData(TlsServerEngine.SslStream, SslProtocols.Tls12, 18, 1)]
    [InlineData(TlsServerEngine.SslStream, SslProtocols.Tls13, 18, 1)]
    [InlineData(TlsServerEngine.SslStream, SslProtocols.Tls13, 40_000, 3)]
    public async Task An_answer_written_in_pieces_and_flushed_once_leaves_in_the_fewest_records(TlsServerEngine engine, SslProtocols protocol, int answerBytes, int expectedRecords)
    {
        await using var server = await TestServers.StartAsync(TlsLayer.Server(Options(engine), connection => AnswerInPiecesAsync(connection, answerBytes)));
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        var records = new TlsRecordCounter(new NetworkStream(socket, ownsSocket: false));
        await using var ssl = new SslStream(records, leaveInnerStreamOpen: false, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "records.test", EnabledSslProtocols = protocol })
            .WaitAsync(Clients.Timeout);

        // The first exchange also carries what follows the handshake (TLS 1.3 session tickets are application data records).
        var answer = new byte[answerBytes];
        await ExchangeAsync(ssl, answer);
        int before = records.Records(TlsRecordCounter.ApplicationData);
        await ExchangeAsync(ssl, answer);
        int after = records.Records(TlsRecordCounter.ApplicationData);

        Assert.Equal(Answer(answerBytes), answer);
        Assert.Equal(expectedRecords, after - before);
    }

    [Theory]
    [InlineData(TlsServerEngine.OpenSsl)]
    [InlineData(TlsServerEngine.SslStream)]
    public async Task Bytes_left_unflushed_when_the_handler_completes_its_output_still_reach_the_client(TlsServerEngine engine)
    {
        await using var server = await TestServers.StartAsync(TlsLayer.Server(Options(engine), static async connection =>
        {
            var result = await connection.Transport.Input.ReadAsync();
            connection.Transport.Input.AdvanceTo(result.Buffer.End);
            var output = connection.Transport.Output;
            output.Write("bye\n"u8);
            output.Complete(); // synchronous, nothing flushed: the layer must still send it, before its close_notify
        }));
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "records.test");
        await client.Ssl.WriteAsync("hi\n"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
        using var received = new MemoryStream();
        await client.Ssl.CopyToAsync(received).WaitAsync(Clients.Timeout);

        Assert.Equal("bye\n", Encoding.ASCII.GetString(received.ToArray()));
    }

    private static TlsServerOptions Options(TlsServerEngine engine)
    {
        var options = new TlsServerOptions { Engine = engine, DefaultCertificate = Certificate };
        options.Certificates.Add(Certificate);
        return options;
    }

    private static byte[] Answer(int bytes)
    {
        var answer = new byte[bytes];
        for (int i = 0; i < bytes; i++)
        {
            answer[i] = (byte)('a' + (i % 26));
        }

        return answer;
    }

    /// <summary>Per request line: the answer written as three pieces (GetSpan/Advance), then one flush.</summary>
    private static async Task AnswerInPiecesAsync(Connection connection, int answerBytes)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var answer = Answer(answerBytes);
        while (true)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            while (buffer.PositionOf((byte)'\n') is { } end)
            {
                buffer = buffer.Slice(buffer.GetPosition(1, end));
                int third = answerBytes / 3;
                foreach (var piece in new[] { answer.AsMemory(0, third), answer.AsMemory(third, third), answer.AsMemory(2 * third) })
                {
                    piece.Span.CopyTo(output.GetSpan(piece.Length));
                    output.Advance(piece.Length);
                }

                await output.FlushAsync();
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    private static async Task ExchangeAsync(SslStream ssl, byte[] answer)
    {
        await ssl.WriteAsync("GET\n"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
        await ssl.ReadExactlyAsync(answer).AsTask().WaitAsync(Clients.Timeout);
    }
}
