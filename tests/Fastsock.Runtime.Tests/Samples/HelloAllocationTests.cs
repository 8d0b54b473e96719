using Fastsock.Locality;
using Fastsock.Tests.Support;
using Xunit.Abstractions;

namespace Fastsock.Tests.Samples;

/// <summary>
/// A keep-alive request through the whole stack (epoll, read into the pool, pipes, HelloApp, writev) allocates nothing
/// in the whole process (see <see cref="KeepAliveAllocationProbe"/> for how that is measured).
/// </summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HelloAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public Task Sequential_keep_alive_requests_allocate_nothing_in_the_process() => AssertAllocatesNothingAsync(batch: 1);

    [Fact]
    public Task Pipelined_keep_alive_requests_allocate_nothing_in_the_process() => AssertAllocatesNothingAsync(batch: 16);

    private async Task AssertAllocatesNothingAsync(int batch)
    {
        await using var server = await HelloTestServer.StartAsync(o => o.Cores = CoreSets.First);
        await KeepAliveAllocationProbe.AssertAllocatesNothingAsync(server.EndPoints[0], batch, output);
        Assert.Equal(0, HelloTestServer.HandlerErrors(server));
    }
}
