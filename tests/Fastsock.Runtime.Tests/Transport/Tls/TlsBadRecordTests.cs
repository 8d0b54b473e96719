using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// A record the client corrupts after the handshake (one flipped byte in its authentication tag) is counted as a bad
/// record and the connection closes with a FIN, not a reset, under both engines. The OpenSSL engine first sends
/// OpenSSL's fatal alert at once, while the handler still holds the connection; SslStream sends nothing (no alert, no
/// close_notify). Good records that arrive in the same segment before it all reach the handler first. The client is
/// SslStream over a stream that flips the byte; what the server sends back is read raw from the socket.
/// </summary>
public sealed class TlsBadRecordTests
{
    private const int GoodRecords = 4;
    private const int RecordSize = 1_000;
    private const byte Alert = 21;
    private const byte ApplicationData = 23;

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
    public async Task A_corrupted_record_after_the_handshake_is_counted_as_a_bad_record_and_closed_with_a_fin(TlsServerEngine engine, string cores, SslProtocols protocol)
    {
        Assert.True(TlsLayer.OpenSslAvailable, TlsLayer.OpenSslDescription);
        var options = new TlsServerOptions { Engine = engine };
        options.Certificates.Add(Site);
        var clientHasAlert = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(TlsLayer.Server(options, async connection =>
        {
            var input = connection.Transport.Input;
            var first = await input.ReadAsync();
            await connection.Transport.Output.WriteAsync(first.Buffer.ToArray());
            input.AdvanceTo(first.Buffer.End);

            if (engine == TlsServerEngine.OpenSsl)
            {
                // The handler reads nothing until the client has its alert: the alert cannot wait for the handler's close.
                await clientHasAlert.Task;
            }

            await input.ReadAsync(); // fails: the record was rejected
        }), o => o.Cores = CpuSet.Parse(cores));

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        var tamper = new TamperingStream(new NetworkStream(socket, ownsSocket: false));
        await using var ssl = new SslStream(tamper, leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "a.example.test", EnabledSslProtocols = protocol }).WaitAsync(Clients.Timeout);
        await ssl.WriteAsync("ping"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
        var echo = new byte[4];
        await ssl.ReadExactlyAsync(echo).AsTask().WaitAsync(Clients.Timeout); // TLS 1.3 tickets came before it: read
        Assert.Equal("ping"u8.ToArray(), echo);

        if (engine == TlsServerEngine.SslStream)
        {
            // SslStream sends no alert for the record it refuses, and no close_notify after it: only the FIN.
            tamper.CorruptNextWrite = true;
            await ssl.WriteAsync("pong"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
        }
        else
        {
            await ReadAlertAsync(socket, tamper, ssl, protocol, clientHasAlert);
        }

        // Then the end of the stream, not a reset: the connection closed cleanly.
        Assert.Equal(0, await socket.ReceiveAsync(new byte[64]).WaitAsync(Clients.Timeout));
        await Eventually.AssertAsync(() => options.Stats.Snapshot() is { BadRecords: 1, Closed: 1 }, () => $"no bad record counted: {options.Stats.Snapshot()}");
        var stats = options.Stats.Snapshot();
        Assert.Equal((1L, 0L), (stats.Handshakes, stats.Failures));
    }

    /// <summary>
    /// Good records and a corrupted one arriving in one segment: the handler still gets every byte of the good ones, in
    /// order, before its read fails. SslStream decrypts all the whole records one read of its inner stream gives it and
    /// throws away what it had decrypted when one fails, so the engine's stream hands it one record per read; the
    /// OpenSSL engine flushes the good records to the handler before it fails the read.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Good_records_in_the_same_segment_as_a_bad_one_all_reach_the_handler(TlsServerEngine engine, string cores, SslProtocols protocol)
    {
        Assert.True(TlsLayer.OpenSslAvailable, TlsLayer.OpenSslDescription);
        var options = new TlsServerOptions { Engine = engine };
        options.Certificates.Add(Site);
        var received = new MemoryStream();
        var readFailed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(
            TlsLayer.Server(options, connection => ReadUntilEndAsync(connection, Task.CompletedTask, received, readFailed)),
            o => o.Cores = CpuSet.Parse(cores));

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        var faults = new RecordFaultStream(socket);
        await using var ssl = await HandshakeUntilReadyAsync(faults, protocol);

        var sent = await SendGoodRecordsThenABadOneAsync(ssl, faults);

        var failure = await readFailed.Task.WaitAsync(Clients.Timeout);
        Assert.True(failure is not null, $"the handler's read ended without an error after {received.Length} B; the bad record went unnoticed");
        Assert.True(received.Length == sent.Length, $"the handler got {received.Length} of the {sent.Length} B of good records before its read failed ({failure.GetType().Name})");
        Assert.Equal(sent, received.ToArray());
        await Eventually.AssertAsync(() => options.Stats.Snapshot().BadRecords == 1, () => $"no bad record counted: {options.Stats.Snapshot()}");
    }

    /// <summary>
    /// A handler busy elsewhere when the good records and the bad one arrive (it reads nothing until the engine has met
    /// the bad record: the OpenSSL engine's alert has reached the client; SslStream, which decrypts only when asked,
    /// holds every byte the client sent) still reads every byte of the good ones, in order, and only the read after the
    /// last of them fails. A Pipe completed with an exception throws at the next read whatever it still holds.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Good_records_a_busy_handler_had_not_read_when_a_bad_one_came_all_reach_it_before_the_failure(TlsServerEngine engine, string cores, SslProtocols protocol)
    {
        Assert.True(TlsLayer.OpenSslAvailable, TlsLayer.OpenSslDescription);
        var options = new TlsServerOptions { Engine = engine };
        options.Certificates.Add(Site);
        var received = new MemoryStream();
        var badRecordMet = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readFailed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(
            TlsLayer.Server(options, connection => ReadUntilEndAsync(connection, badRecordMet.Task, received, readFailed)), // busy elsewhere until then
            o => o.Cores = CpuSet.Parse(cores));

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        var faults = new RecordFaultStream(socket);
        await using var ssl = await HandshakeUntilReadyAsync(faults, protocol);

        byte[] sent;
        try
        {
            sent = await SendGoodRecordsThenABadOneAsync(ssl, faults);
            await Eventually.AssertAsync(
                () => server.GetStats().Sum(w => w.BytesReceived) >= faults.BytesSent,
                () => $"the server received {server.GetStats().Sum(w => w.BytesReceived)} of the {faults.BytesSent} B the client sent");
            if (engine == TlsServerEngine.OpenSsl)
            {
                // Its alert leaves in the turn the engine met the bad record: nothing else was due from the server.
                var (type, _) = await ReadRecordAsync(socket);
                Assert.Equal(protocol == SslProtocols.Tls12 ? Alert : ApplicationData, type);
            }
        }
        finally
        {
            badRecordMet.TrySetResult();
        }

        var failure = await readFailed.Task.WaitAsync(Clients.Timeout);
        Assert.True(received.Length == sent.Length, $"the handler got {received.Length} of the {sent.Length} B of good records before its read ended ({failure?.GetType().Name ?? "no error"})");
        Assert.Equal(sent, received.ToArray());
        Assert.True(failure is IOException, $"the read after the good records ended with {failure?.GetType().Name ?? "no error"}, not the IOException of a bad record");
        await Eventually.AssertAsync(() => options.Stats.Snapshot().BadRecords == 1, () => $"no bad record counted: {options.Stats.Snapshot()}");
    }

    /// <summary>
    /// The handler of the good-records tests: says "ready", waits for <paramref name="startReading"/>, then reads into
    /// <paramref name="received"/> until its input ends (null) or a read fails (the exception).
    /// </summary>
    private static async Task ReadUntilEndAsync(Connection connection, Task startReading, MemoryStream received, TaskCompletionSource<Exception?> readFailed)
    {
        var input = connection.Transport.Input;
        try
        {
            await connection.Transport.Output.WriteAsync("ready"u8.ToArray());
            await startReading;
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
    }

    /// <summary>
    /// Writes <see cref="GoodRecords"/> records of random bytes, then a corrupted one; each write is one record, and all
    /// of them leave in one send. Returns the good records' bytes.
    /// </summary>
    private static async Task<byte[]> SendGoodRecordsThenABadOneAsync(SslStream ssl, RecordFaultStream faults)
    {
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
        return sent;
    }

    /// <summary>The client's TLS over <paramref name="faults"/> (records it can hold and corrupt), past the handler's "ready".</summary>
    private static async Task<SslStream> HandshakeUntilReadyAsync(RecordFaultStream faults, SslProtocols protocol)
    {
        var ssl = new SslStream(faults, leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "a.example.test", EnabledSslProtocols = protocol }).WaitAsync(Clients.Timeout);
        var ready = new byte[5];
        await ssl.ReadExactlyAsync(ready).AsTask().WaitAsync(Clients.Timeout); // TLS 1.3 tickets came before it: read
        Assert.Equal("ready"u8.ToArray(), ready);
        return ssl;
    }

    /// <summary>
    /// The OpenSSL engine: the corrupted record gets one record back, OpenSSL's fatal alert, while the handler still
    /// holds the connection (it waits for <paramref name="clientHasAlert"/>).
    /// </summary>
    private static async Task ReadAlertAsync(Socket socket, TamperingStream tamper, SslStream ssl, SslProtocols protocol, TaskCompletionSource clientHasAlert)
    {
        try
        {
            tamper.CorruptNextWrite = true;
            await ssl.WriteAsync("pong"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
            var (type, length) = await ReadRecordAsync(socket);

            // TLS 1.2 sends the alert as an alert record; TLS 1.3 hides it in application data: 2 B of alert, 1 B of
            // inner content type and a 16 B AEAD tag. Nothing else was due from the server.
            Assert.Equal(protocol == SslProtocols.Tls12 ? (Alert, length) : (ApplicationData, 19), (type, length));
        }
        finally
        {
            clientHasAlert.TrySetResult();
        }
    }

    /// <summary>One whole TLS record read raw from the socket: its content type and length.</summary>
    private static async Task<(byte Type, int Length)> ReadRecordAsync(Socket socket)
    {
        var header = new byte[5];
        await ReadExactlyAsync(socket, header);
        int length = (header[3] << 8) | header[4];
        await ReadExactlyAsync(socket, new byte[length]);
        return (header[0], length);
    }

    private static async Task ReadExactlyAsync(Socket socket, byte[] buffer)
    {
        for (int at = 0; at < buffer.Length;)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(at)).AsTask().WaitAsync(Clients.Timeout);
            Assert.True(read > 0, $"the server closed after {at} of {buffer.Length} B of a record, without an alert");
            at += read;
        }
    }
}
