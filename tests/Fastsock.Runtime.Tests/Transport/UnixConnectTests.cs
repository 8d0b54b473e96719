using System.Net.Sockets;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Native;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using static Fastsock.Tests.Support.WorkerThreads;

namespace Fastsock.Tests.Transport;

/// <summary>FastsockConnector over AF_UNIX: a local backend reached without the TCP stack.</summary>
public sealed class UnixConnectTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-unix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Unix_connection_exchanges_bytes_and_counts_no_locality()
    {
        var path = Path.Combine(_dir, "echo.sock");
        using var echo = RawPeer.Echo(new UnixDomainSocketEndPoint(path));
        await using var server = await TestServers.StartAsync(TestServers.Echo);
        var result = await OnWorker(server, 0, async () =>
        {
            var connection = await FastsockConnector.ConnectAsync(new UnixDomainSocketEndPoint(path));
            await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes("hello over unix"));
            await connection.Transport.Output.CompleteAsync();
            var reply = new StringBuilder();
            while (true)
            {
                var read = await connection.Transport.Input.ReadAsync();
                foreach (var segment in read.Buffer)
                {
                    reply.Append(Encoding.ASCII.GetString(segment.Span));
                }

                connection.Transport.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }

            await connection.Transport.Input.CompleteAsync();
            return (Reply: reply.ToString(), connection.IncomingCpu, Remote: connection.RemoteEndPoint?.ToString());
        });

        Assert.Equal("hello over unix", result.Reply);
        Assert.Equal(-1, result.IncomingCpu);
        Assert.Equal(path, result.Remote);
        var stats = server.GetStats()[0];
        Assert.Equal(1, stats.Connected);
        Assert.Equal(0, stats.OutboundLocalConnections + stats.OutboundRemoteConnections);
    }

    [Fact]
    public async Task Connect_to_a_missing_unix_socket_fails_with_ENOENT_naming_the_path()
    {
        var path = Path.Combine(_dir, "missing.sock");
        await using var server = await TestServers.StartAsync(TestServers.Echo);
        var error = await Assert.ThrowsAsync<NativeCallException>(() => server.ConnectAsync(0, new UnixDomainSocketEndPoint(path)));
        Assert.Equal(Errno.ENOENT, error.Errno);
        Assert.Contains($"connect({path})", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.GetStats()[0].ConnectFailures);
    }

    [Fact]
    public async Task Connect_to_a_unix_socket_nobody_listens_on_fails_with_ECONNREFUSED()
    {
        var path = Path.Combine(_dir, "stale.sock");
        using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bound.Bind(new UnixDomainSocketEndPoint(path)); // the file exists, but nobody listens on it

        await using var server = await TestServers.StartAsync(TestServers.Echo);
        var error = await Assert.ThrowsAsync<NativeCallException>(() => server.ConnectAsync(0, new UnixDomainSocketEndPoint(path)));
        Assert.Equal(Errno.ECONNREFUSED, error.Errno);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_to_a_unix_listener_with_a_full_backlog_times_out()
    {
        var path = Path.Combine(_dir, "full.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(0);
        var fillers = new List<Socket>();
        try
        {
            FillBacklog(path, fillers);
            await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Outbound.ConnectTimeout = TimeSpan.FromMilliseconds(400));
            var started = System.Diagnostics.Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<TimeoutException>(() => server.ConnectAsync(0, new UnixDomainSocketEndPoint(path)));
            Assert.InRange(started.ElapsedMilliseconds, 400 - Clients.CoarseClockSlackMs, 15_000);
            Assert.Contains($"connect({path})", error.Message, StringComparison.Ordinal);
            Assert.Equal(1, server.GetStats()[0].ConnectFailures);
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    /// <summary>Non-blocking connects until one says EAGAIN: the listener's backlog is full.</summary>
    internal static void FillBacklog(string path, List<Socket> fillers)
    {
        for (int i = 0; i < 16; i++)
        {
            var filler = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
            fillers.Add(filler);
            try
            {
                filler.Connect(new UnixDomainSocketEndPoint(path));
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
            {
                return;
            }
        }

        throw new InvalidOperationException($"The backlog of {path} never filled; cannot make a unix listener that says EAGAIN.");
    }
}
