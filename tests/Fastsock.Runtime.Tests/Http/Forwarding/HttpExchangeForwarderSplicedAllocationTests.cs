using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Xunit.Abstractions;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>
/// Keep-alive exchanges whose response bodies are spliced (a Content-Length over the threshold, splice forced) through a
/// bare <see cref="HttpExchangeForwarder"/> to a loopback backend allocate nothing on the proxy's worker once warm: the
/// bounded splice behind each body is a reused object, not a Task, a TaskCompletionSource and its parts per body.
/// </summary>
/// <remarks>
/// The backend and the client are threads of the test: what they allocate is not on the worker, whose own thread's
/// count is read (<see cref="WorkerAllocationWindows"/>), so a per-exchange allocation anywhere on the proxy's path
/// shows in every window and a pool reaching its working set in one at most.
/// </remarks>
public sealed class HttpExchangeForwarderSplicedAllocationTests(ITestOutputHelper output)
{
    private const int Body = 256 * 1024;
    private const int InputBuffer = 16 * 1024;
    private const int WarmUpExchanges = 400;
    private const int WindowExchanges = 400;

    [Fact]
    public async Task Keep_alive_exchanges_with_spliced_response_bodies_allocate_nothing_per_exchange_on_the_worker()
    {
        using var backend = new SplicedBodyBackend(Body);
        var failure = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new HttpForwarderOptions { Forwarding = ForwardingMode.Splice, SpliceThreshold = 64 * 1024 };
        // Small input pipes: what a backend read takes before the splice starts (written from the pipe, not spliced)
        // stays a small part of each body, whatever the loopback's speed.
        await using var server = await TestServers.StartAsync(
            client => ProxyAsync(client, backend.EndPoint, options, failure),
            o =>
            {
                o.Cores = CoreSets.First;
                o.Connection.MaxInputBufferSize = InputBuffer;
            });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        var exchanges = new ClientExchanges(client, Body);

        await exchanges.RunAsync(WarmUpExchanges, failure.Task);
        long splicedBefore = server.GetStats()[0].BytesSpliced;
        var excess = await WorkerAllocationWindows.MeasureAsync(
            server.WorkerList[0], () => exchanges.RunAsync(WindowExchanges, failure.Task), WindowExchanges, $"{WindowExchanges} exchanges of {Body} B", output);
        long spliced = server.GetStats()[0].BytesSpliced - splicedBefore;

        Assert.True(
            spliced >= (long)excess.Count * WindowExchanges * (Body - (2 * InputBuffer)),
            $"{spliced} B spliced over {excess.Count} windows of {WindowExchanges} exchanges of {Body} B: the bodies were not spliced");
        Assert.True(
            excess.Exists(bytes => bytes < WindowExchanges),
            $"Every window allocated at least one byte per exchange ({WindowExchanges} exchanges with spliced bodies) on the worker: {string.Join(", ", excess)} B.");
    }

    /// <summary>One client, one backend connection for its whole life; a failed exchange is reported, not asserted on the worker.</summary>
    private static async Task ProxyAsync(Connection client, EndPoint backendEndPoint, HttpForwarderOptions options, TaskCompletionSource<string> failure)
    {
        var forwarder = new HttpExchangeForwarder(client, [127, 0, 0, 1], options);
        var backend = await FastsockConnector.ConnectAsync(backendEndPoint);
        var input = client.Transport.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var status = forwarder.TryParseRequest(result.Buffer, out _);
                if (status != HttpParseStatus.Complete)
                {
                    input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    if (status == HttpParseStatus.Error || result.IsCompleted)
                    {
                        return;
                    }

                    continue;
                }

                // Not back through the worker's SynchronizationContext: posting would allocate a callback per resumption.
                var outcome = await forwarder.ForwardAsync(backend, default, replayable: false).ConfigureAwait(false);
                if (!outcome.ClientKeepAlive || !outcome.BackendReusable)
                {
                    failure.TrySetResult($"A keep-alive exchange ended with {outcome}.");
                    return;
                }
            }
        }
        finally
        {
            backend.Transport.Input.Complete();
            backend.Transport.Output.Complete();
            await input.CompleteAsync();
            await client.Transport.Output.CompleteAsync();
        }
    }

    /// <summary>The client: one GET at a time, each response read whole (head, then exactly the body) before the next.</summary>
    private sealed class ClientExchanges(Socket socket, int body)
    {
        private static readonly byte[] s_request = Encoding.ASCII.GetBytes("GET /big HTTP/1.1\r\nHost: backend\r\n\r\n");
        private readonly byte[] _buffer = new byte[256 * 1024];
        private int _buffered;

        public async Task RunAsync(int count, Task<string> failure)
        {
            var run = Task.Run(async () =>
            {
                for (int i = 0; i < count; i++)
                {
                    await socket.SendAsync(s_request, SocketFlags.None);
                    int headEnd;
                    while ((headEnd = _buffer.AsSpan(0, _buffered).IndexOf("\r\n\r\n"u8)) < 0)
                    {
                        await ReceiveAsync();
                    }

                    string head = Encoding.ASCII.GetString(_buffer, 0, headEnd);
                    Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
                    Assert.Contains($"\r\nContent-Length: {body}", head, StringComparison.Ordinal);
                    int left = headEnd + 4 + body;
                    while (left > 0)
                    {
                        if (_buffered == 0)
                        {
                            await ReceiveAsync();
                        }

                        int take = Math.Min(left, _buffered);
                        _buffer.AsSpan(take, _buffered - take).CopyTo(_buffer);
                        _buffered -= take;
                        left -= take;
                    }
                }
            });
            var first = await Task.WhenAny(run, failure).WaitAsync(Clients.Timeout * 4);
            if (first == failure)
            {
                Assert.Fail(await failure);
            }

            await run;
        }

        private async Task ReceiveAsync()
        {
            int n = await socket.ReceiveAsync(_buffer.AsMemory(_buffered), SocketFlags.None).AsTask().WaitAsync(Clients.Timeout);
            if (n == 0)
            {
                throw new EndOfStreamException($"The proxy closed the client connection; {_buffered} bytes unread.");
            }

            _buffered += n;
        }
    }

    /// <summary>A keep-alive backend on a thread of its own: one connection, each request head answered with the same response.</summary>
    private sealed class SplicedBodyBackend : IDisposable
    {
        private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
        private readonly byte[] _response;
        private readonly Thread _thread;
        private Socket? _connection;

        public SplicedBodyBackend(int body)
        {
            byte[] head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body}\r\n\r\n");
            _response = new byte[head.Length + body];
            head.CopyTo(_response, 0);
            _response.AsSpan(head.Length).Fill((byte)'b');
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1);
            _thread = new Thread(Serve) { IsBackground = true, Name = "spliced-body-backend" };
            _thread.Start();
        }

        public EndPoint EndPoint => _listener.LocalEndPoint!;

        public void Dispose()
        {
            _listener.Dispose();
            _connection?.Dispose();
        }

        private void Serve()
        {
            try
            {
                using var socket = _listener.Accept();
                socket.NoDelay = true;
                _connection = socket;
                var buffer = new byte[16 * 1024];
                int buffered = 0;
                while (true)
                {
                    int n = socket.Receive(buffer, buffered, buffer.Length - buffered, SocketFlags.None);
                    if (n == 0)
                    {
                        return;
                    }

                    buffered += n;
                    int end;
                    while ((end = buffer.AsSpan(0, buffered).IndexOf("\r\n\r\n"u8)) >= 0)
                    {
                        buffer.AsSpan(end + 4, buffered - end - 4).CopyTo(buffer);
                        buffered -= end + 4;
                        socket.Send(_response);
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The test is over: the proxy or the test closed the connection.
            }
        }
    }
}
