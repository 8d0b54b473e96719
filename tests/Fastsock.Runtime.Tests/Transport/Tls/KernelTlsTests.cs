using System.IO.Compression;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>The kernel TLS probe against what the kernel says of itself (/proc/config.gz, tcp_available_ulp).</summary>
public sealed class KernelTlsTests
{
    [Fact]
    public void Probe_agrees_with_the_kernel_config_and_its_registered_upper_layer_protocols()
    {
        var status = KernelTls.Status;
        var ulps = File.Exists("/proc/sys/net/ipv4/tcp_available_ulp") ? File.ReadAllText("/proc/sys/net/ipv4/tcp_available_ulp") : "";
        var tlsConfig = KernelConfigLine("CONFIG_TLS");
        if (ulps.Split(' ', StringSplitOptions.TrimEntries).Contains("tls") || tlsConfig is "CONFIG_TLS=y" or "CONFIG_TLS=m")
        {
            Assert.True(status.Available, $"the kernel has the tls ULP ({tlsConfig}, ULPs: {ulps.Trim()}) but the probe says {status}");
            Assert.StartsWith("kernel TLS: available", status.Describe(), StringComparison.Ordinal);
        }
        else if (tlsConfig == "# CONFIG_TLS is not set")
        {
            Assert.False(status.Available);
            Assert.Equal("ENOENT", status.ErrnoName);
            Assert.Equal("kernel TLS: unavailable (ENOENT: tls ULP not in this kernel); records encrypted in user space", status.Describe());
        }
        else
        {
            // No config to compare with: the probe must still have an answer of one kind or the other.
            Assert.True(status.Available != (status.Errno != 0), status.ToString());
        }
    }

    private static string? KernelConfigLine(string option)
    {
        if (!File.Exists("/proc/config.gz"))
        {
            return null;
        }

        using var reader = new StreamReader(new GZipStream(File.OpenRead("/proc/config.gz"), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith(option + "=", StringComparison.Ordinal) || line == $"# {option} is not set")
            {
                return line;
            }
        }

        return null;
    }
}
