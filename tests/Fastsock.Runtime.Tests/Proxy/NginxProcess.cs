using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// One nginx run in the foreground from a test's directory with the config its owner generated (what
/// <see cref="NginxServer"/> and <see cref="NginxTlsServer"/> share): started, waited for until it accepts on its
/// port, killed with the test.
/// </summary>
internal sealed class NginxProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private NginxProcess(string dir, Process process)
    {
        _dir = dir;
        _process = process;
    }

    public int Id => _process.Id;

    /// <summary>Starts nginx in <paramref name="dir"/> on the config file <paramref name="conf"/> and waits until it accepts on <paramref name="port"/>.</summary>
    /// <remarks>
    /// Fails at once if nginx exits, with its error log: "Address already in use" there is what
    /// <see cref="LoopbackPorts.StartPeerAsync{T}"/> retries on.
    /// </remarks>
    public static async Task<NginxProcess> StartAsync(string dir, int port, string conf)
    {
        Assert.True(File.Exists("/usr/sbin/nginx"), "nginx is missing: .ci/run installs it (apt-get install nginx-light)");
        var nginx = new NginxProcess(dir, Process.Start(new ProcessStartInfo("/usr/sbin/nginx", $"-p {dir} -e {dir}/error.log -c {conf}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!);
        try
        {
            await nginx.WaitForPortAsync(port);
            return nginx;
        }
        catch
        {
            nginx.Dispose();
            throw;
        }
    }

    /// <summary>nginx's error log so far (<c>error.log</c> in its directory).</summary>
    public string ErrorLog()
    {
        var log = Path.Combine(_dir, "error.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no error.log)";
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

    private async Task WaitForPortAsync(int port)
    {
        bool listening = await Eventually.HoldsAsync(async () =>
        {
            Assert.False(_process.HasExited, $"nginx exited: {ErrorLog()}");
            using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        });
        Assert.True(listening, $"nginx did not listen on 127.0.0.1:{port}: {ErrorLog()}");
    }
}
