using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Fastsock.Tests.Support;

/// <summary>A real redis-server on a loopback port, without persistence, killed with the test.</summary>
internal sealed class RedisServer : IDisposable
{
    private readonly Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>
    /// Starts redis on <paramref name="port"/> and waits until it accepts connections; if it exits first, fails with
    /// its output (redis says "Address already in use" when the port was taken, which
    /// <see cref="LoopbackPorts.StartPeerAsync{T}"/> retries on).
    /// </summary>
    public static async Task<RedisServer> StartAsync(int port)
    {
        Assert.True(File.Exists("/usr/bin/redis-server"), "redis-server is missing: .ci/run installs it (apt-get install redis-server)");
        var process = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var redis = new RedisServer(process, port);
        bool accepting = await Eventually.HoldsAsync(async () => process.HasExited || await AcceptsAsync(port));
        if (process.HasExited)
        {
            string text = await output.WaitAsync(Clients.Timeout);
            redis.Dispose();
            throw new InvalidOperationException($"redis-server --port {port} exited ({process.ExitCode}): {text}");
        }

        if (!accepting)
        {
            redis.Dispose();
            throw new TimeoutException($"redis-server did not accept connections on port {port} within {Clients.Timeout}.");
        }

        return redis;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(Clients.Timeout);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
