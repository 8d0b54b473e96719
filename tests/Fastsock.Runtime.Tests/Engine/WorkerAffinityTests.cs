using System.Globalization;
using Fastsock.Locality;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Engine;

public sealed class WorkerAffinityTests
{
    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Each_worker_thread_is_pinned_to_exactly_its_cpu_as_the_kernel_reports(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Parse(cores));
        var expected = CpuSet.Parse(cores);
        Assert.Equal(expected.Count, server.Workers.Count);
        for (int i = 0; i < server.Workers.Count; i++)
        {
            var (worker, cpu, threadId) = server.Workers[i];
            Assert.Equal(i, worker);
            Assert.Equal(expected[i], cpu);
            Assert.True(threadId > 0, $"worker {worker} has no kernel thread id");
            var status = await File.ReadAllLinesAsync($"/proc/self/task/{threadId}/status");
            var allowed = status.Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            Assert.Equal(cpu.ToString(CultureInfo.InvariantCulture), allowed["Cpus_allowed_list:".Length..].Trim());
        }
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Each_worker_thread_is_named_after_its_index(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Parse(cores));
        foreach (var (worker, _, threadId) in server.Workers)
        {
            var comm = (await File.ReadAllTextAsync($"/proc/self/task/{threadId}/comm")).TrimEnd('\n');
            Assert.Equal($"fastsock-w{worker}", comm);
        }
    }
}
