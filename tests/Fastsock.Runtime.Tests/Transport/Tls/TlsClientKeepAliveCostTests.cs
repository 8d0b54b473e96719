using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;
using Xunit.Abstractions;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// What handing SslStream one TLS record per read of the ciphertext costs the client layer on keep-alive exchanges: a
/// response in one record takes the reads it took before (SslStream's zero-byte read, then the record), a response
/// whose records arrive together takes those two per record instead of two in all, and nothing is allocated per
/// response on the worker. The test drives exchanges one at a time through a relay on one worker: a byte from the
/// test socket starts one, a byte back says it is done.
/// </summary>
[Trait("Category", "Slow")] // real sockets and a long ping-pong
public sealed class TlsClientKeepAliveCostTests(ITestOutputHelper output) : IDisposable
{
    private const byte OneRecord = (byte)'o';
    private const byte EightRecords = (byte)'r';
    private const int RecordsPerBurst = 8;
    private const int RecordSize = 1_000;

    private static readonly byte[] OkRequest = Encoding.ASCII.GetBytes("GET /ok HTTP/1.1\r\nHost: backend.test\r\n\r\n");
    private static readonly byte[] RecordsRequest = Encoding.ASCII.GetBytes($"GET /records/{RecordsPerBurst}/{RecordSize} HTTP/1.1\r\nHost: backend.test\r\n\r\n");
    private static readonly int OkLength = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".Length;
    private static readonly int RecordsLength = $"HTTP/1.1 200 OK\r\nContent-Length: {RecordsPerBurst * RecordSize}\r\n\r\n".Length + (RecordsPerBurst * RecordSize);

    private readonly TestCertificateAuthority _ca = new();

    public void Dispose() => _ca.Dispose();

    [Fact]
    public async Task A_one_record_response_takes_two_ciphertext_reads_and_records_arriving_together_two_each()
    {
        await using var bed = await StartAsync();
        await bed.ExchangeAsync(OneRecord, 20); // the session tickets of TLS 1.3 and the first exchanges' extra reads

        long before = bed.Reads;
        await bed.ExchangeAsync(OneRecord, 200);
        double perOneRecord = (bed.Reads - before) / 200.0;

        before = bed.Reads;
        await bed.ExchangeAsync(EightRecords, 100);
        double perBurst = (bed.Reads - before) / 100.0;
        output.WriteLine($"ciphertext reads per response: {perOneRecord:F2} for one record, {perBurst:F2} for {RecordsPerBurst + 1} records in one segment");

        // SslStream reads a record as a zero-byte read (waiting for data) then the record itself.
        Assert.True(perOneRecord <= 2.0, $"a one-record response took {perOneRecord:F2} ciphertext reads, more than SslStream's two");
        Assert.True(perBurst <= 2.0 * (RecordsPerBurst + 1), $"{RecordsPerBurst + 1} records took {perBurst:F2} ciphertext reads, more than two each");
    }

    [Fact]
    public async Task Keep_alive_exchanges_through_the_client_layer_allocate_nothing_per_response_on_the_worker()
    {
        await using var bed = await StartAsync();
        await bed.ExchangeAsync(OneRecord, 2_000);
        await bed.ExchangeAsync(EightRecords, 500);

        const int Exchanges = 1_000;
        var excess = await WorkerAllocationWindows.MeasureAsync(
            bed.Worker, async () => { await bed.ExchangeAsync(OneRecord, Exchanges / 2); await bed.ExchangeAsync(EightRecords, Exchanges / 2); }, Exchanges, $"{Exchanges} exchanges", output);

        // Under one byte per response in some window: one object per response (≥ 24 B) would show in every window.
        Assert.True(excess.Exists(bytes => bytes < Exchanges), $"Every window allocated at least one byte per response on the worker: {string.Join(", ", excess)} B.");
    }

    private async Task<Bed> StartAsync()
    {
        var leaf = _ca.Issue(["backend.test"]);
        var backend = new FaultyTlsHttpBackend(leaf);
        var options = new TlsClientOptions { TargetHost = "backend.test", TrustedRoots = _ca.Roots };
        var reads = new ReadCount();
        var relay = await TlsClientRelay.StartAsync(backend.EndPoint, options, CoreSets.FirstText, (client, tls) => RelayAsync(client, (TlsClientConnection)tls, reads));
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(relay.EndPoints[0]).WaitAsync(Clients.Timeout);
        return new Bed(leaf, backend, relay, socket, reads);
    }

    /// <summary>On the worker: one exchange with the server per byte from the test, answered with one byte once the response is read.</summary>
    private static async Task RelayAsync(Connection client, TlsClientConnection tls, ReadCount reads)
    {
        var done = new byte[1];
        while (true)
        {
            var command = await client.Transport.Input.ReadAsync();
            if (command.Buffer.IsEmpty)
            {
                break;
            }

            bool one = command.Buffer.FirstSpan[0] == OneRecord;
            client.Transport.Input.AdvanceTo(command.Buffer.GetPosition(1));
            await tls.Transport.Output.WriteAsync(one ? OkRequest : RecordsRequest);
            long left = one ? OkLength : RecordsLength;
            while (left > 0)
            {
                var result = await tls.Transport.Input.ReadAsync();
                left -= result.Buffer.Length;
                tls.Transport.Input.AdvanceTo(result.Buffer.End);
            }

            Volatile.Write(ref reads.Value, tls.CiphertextReads);
            await client.Transport.Output.WriteAsync(done);
        }

        tls.Transport.Input.Complete();
        tls.Transport.Output.Complete();
    }

    /// <summary>Written by the relay on the worker, read by the test.</summary>
    private sealed class ReadCount
    {
        public long Value;
    }

    private sealed class Bed(IDisposable leaf, FaultyTlsHttpBackend backend, Fastsock.Hosting.FastsockServer relay, Socket socket, ReadCount reads) : IAsyncDisposable
    {
        private readonly byte[] _one = new byte[1];

        public Fastsock.Engine.Worker Worker => relay.WorkerList[0];

        /// <summary>Ciphertext reads of the TLS connection after the last exchange.</summary>
        public long Reads => Volatile.Read(ref reads.Value);

        public async Task ExchangeAsync(byte kind, int count)
        {
            for (int i = 0; i < count; i++)
            {
                _one[0] = kind;
                await socket.SendAsync(_one, SocketFlags.None).WaitAsync(Clients.Timeout);
                int n = await socket.ReceiveAsync(_one, SocketFlags.None).WaitAsync(Clients.Timeout);
                Assert.True(n == 1, "the relay closed the connection");
            }
        }

        public async ValueTask DisposeAsync()
        {
            socket.Dispose();
            await relay.DisposeAsync();
            await backend.DisposeAsync();
            leaf.Dispose();
        }
    }
}
