using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// A client whose good records and a corrupted one arrive in one segment: the server's handler still gets every byte
/// of the good records, in order, before its read fails, under both engines. SslStream decrypts all the whole records
/// one read of its inner stream gives it and throws away what it had decrypted when one fails, so the server engine's
/// stream hands it one record per read (as the client side's does, <c>TlsClientBadRecordTests</c>).
/// </summary>
public sealed class TlsGoodRecordsBeforeBadTests
{
    private const int GoodRecords = 4;
    private const int RecordSize = 1_000;

    private static readonly X509Certificate2 Site = TestCertificates.Create("a.example.test", ["a.example.test"]);

    public static TheoryData<TlsServerEngine, string, SslProtocols> Cases
    {
        get
        {
            var data = new TheoryData<TlsServerEngine, string, SslProtocols>();
            foreach (var engine in new[] { TlsServerEngine.OpenSsl, TlsServerEngine.SslStream })
            {
                foreach (var cores in CoreSets.OneAndTwoWorkers)
                {
                    data.Add(engine, cores, SslProtocols.Tls12);
                    data.Add(engine, cores, SslProtocols.Tls13);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Good_records_in_the_same_segment_as_a_bad_one_all_reach_the_handler(TlsServerEngine engine, string cores, SslProtocols protocol)
    {
        Assert.True(TlsLayer.OpenSslAvailable, TlsLayer.OpenSslDescription);
        var options = new TlsServerOptions { Engine = engine };
        options.Certificates.Add(Site);
        var received = new MemoryStream();
        var readFailed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(TlsLayer.Server(options, async connection =>
        {
            var input = connection.Transport.Input;
            try
            {
                await connection.Transport.Output.WriteAsync("ready"u8.ToArray());
                while (true)
                {
                    var result = await input.ReadAsync();
                    foreach (var segment in result.Buffer)
                    {
                        received.Write(segment.Span);
                    }

                    input.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted)
                    {
                        readFailed.TrySetResult(null);
                        return;
                    }
                }
            }
            catch (Exception ex)
            {
                readFailed.TrySetResult(ex);
            }
        }), o => o.Cores = CpuSet.Parse(cores));

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        var faults = new RecordFaultStream(socket);
        await using var ssl = new SslStream(faults, leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "a.example.test", EnabledSslProtocols = protocol }).WaitAsync(Clients.Timeout);
        var ready = new byte[5];
        await ssl.ReadExactlyAsync(ready).AsTask().WaitAsync(Clients.Timeout); // TLS 1.3 tickets came before it: read
        Assert.Equal("ready"u8.ToArray(), ready);

        // Each write is one record; all of them, the corrupted last one too, leave in one send.
        var sent = new byte[GoodRecords * RecordSize];
        Random.Shared.NextBytes(sent);
        faults.HoldWrites = true;
        for (int i = 0; i < GoodRecords; i++)
        {
            await ssl.WriteAsync(sent.AsMemory(i * RecordSize, RecordSize)).AsTask().WaitAsync(Clients.Timeout);
        }

        faults.CorruptNextWrite = true;
        await ssl.WriteAsync(new byte[RecordSize]).AsTask().WaitAsync(Clients.Timeout);
        await faults.SendHeldAsync().WaitAsync(Clients.Timeout);

        var failure = await readFailed.Task.WaitAsync(Clients.Timeout);
        Assert.True(failure is not null, $"the handler's read ended without an error after {received.Length} B; the bad record went unnoticed");
        Assert.True(received.Length == sent.Length, $"the handler got {received.Length} of the {sent.Length} B of good records before its read failed ({failure.GetType().Name})");
        Assert.Equal(sent, received.ToArray());
        await Eventually.AssertAsync(() => options.Stats.Snapshot().BadRecords == 1, () => $"no bad record counted: {options.Stats.Snapshot()}");
    }
}
