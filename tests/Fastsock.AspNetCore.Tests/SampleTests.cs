using System.Text.Json;
using Fastsock.AspNetCore.Tests.Support;

namespace Fastsock.AspNetCore.Tests;

/// <summary>The sample process, on both transports: the same endpoints answer the same way.</summary>
public sealed class SampleTests
{
    private static string SampleDll => Path.Combine(AppContext.BaseDirectory, "fastsock-aspnetcore.dll");

    [Theory]
    [Trait("Category", "Slow")]
    [InlineData("fastsock")]
    [InlineData("sockets")]
    public async Task The_sample_serves_its_endpoints_on_either_transport(string transport)
    {
        using var sample = SampleProcess.Start(SampleDll, $"--transport {transport} --urls http://127.0.0.1:0");
        var endPoint = await sample.ListeningOnAsync();
        using var client = new HttpClient { BaseAddress = new Uri($"http://{endPoint}"), Timeout = Clients.Timeout };

        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
        Assert.Equal("{\"message\":\"Hello, World!\"}", await client.GetStringAsync("/json"));
        using (var echoed = await client.PostAsync("/echo", new StringContent("ping")))
        {
            Assert.Equal("ping", await echoed.Content.ReadAsStringAsync());
        }

        using var stats = JsonDocument.Parse(await client.GetStringAsync("/stats"));
        Assert.Equal(3, stats.RootElement.GetProperty("requests").GetInt64()); // /plaintext, /json, /echo; /stats is not counted
        if (transport == "fastsock")
        {
            // Every request ran on the accepting worker's CPU.
            Assert.Equal(stats.RootElement.GetProperty("requests").GetInt64(), stats.RootElement.GetProperty("onAcceptingCpu").GetInt64());
        }

        sample.Signal("TERM");
        Assert.Equal(0, await sample.WaitForExitAsync(Clients.Timeout));
    }

    [Fact]
    public async Task A_bad_transport_name_is_one_line_and_exit_code_2()
    {
        using var sample = SampleProcess.Start(SampleDll, "--transport carrier-pigeon");
        Assert.Equal(2, await sample.WaitForExitAsync(Clients.Timeout));
        Assert.Contains("carrier-pigeon", sample.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cpu_outside_the_affinity_mask_is_one_line_and_exit_code_2()
    {
        int outside = Fastsock.Locality.CpuSet.Allowed()[^1] + 100;
        using var sample = SampleProcess.Start(SampleDll, $"--cores {outside} --urls http://127.0.0.1:0");
        Assert.Equal(2, await sample.WaitForExitAsync(Clients.Timeout));
        Assert.Contains($"CPU {outside} is not in this process's affinity mask", sample.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", sample.Stderr, StringComparison.Ordinal); // no stack trace
    }
}
