using System.Diagnostics;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>fastsock-proxy with no config: the built-in demo, 127.0.0.1:8080 in front of the in-process Hello app.</summary>
public sealed class ProxyDemoTests
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");

    [PrivateNetworkFact]
    public async Task Demo_without_a_config_answers_through_inproc_hello_on_8080_and_exits_0_on_sigterm()
    {
        // The demo's port is fixed, so it runs in a network namespace of its own: 8080 is free there whatever else
        // runs on this machine. The client (curl) runs inside too; it polls until the demo answers.
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var script = $$"""
            ip link set lo up || exit 4
            "{{dotnet}}" "{{ProxyDll}}" --cores {{CoreSets.FirstCpu}} &
            pid=$!
            tries=0
            until body=$(curl -sf http://127.0.0.1:8080/plaintext); do
              tries=$((tries + 1)); [ $tries -gt 300 ] && { kill -KILL $pid; exit 3; }
              sleep 0.1
            done
            echo "body=$body"
            kill -TERM $pid
            wait $pid
            echo "exit=$?"
            """;
        var info = new ProcessStartInfo("unshare", ["--net", "--", "sh", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"the demo script exited {process.ExitCode}: {output} {await stderr}");
        Assert.Contains("Frontend demo listening on http://127.0.0.1:8080\n", output, StringComparison.Ordinal);
        Assert.Contains("Backend hello (frontend demo): inproc:hello", output, StringComparison.Ordinal);
        Assert.Contains("Config: (built-in demo).", output, StringComparison.Ordinal);
        Assert.Contains("body=Hello, World!", output, StringComparison.Ordinal);
        Assert.EndsWith("exit=0", output.TrimEnd(), StringComparison.Ordinal);
    }
}

/// <summary>A fact that needs a private network namespace (unshare --net, run as root); skipped, saying why, otherwise.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class PrivateNetworkFactAttribute : FactAttribute
{
    public PrivateNetworkFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "Needs root for unshare --net: the demo binds the fixed port 127.0.0.1:8080, which only a private network namespace guarantees free.";
        }
    }
}
