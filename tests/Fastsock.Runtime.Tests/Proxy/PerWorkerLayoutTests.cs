using System.Runtime.CompilerServices;
using Fastsock.Samples.Proxy.Frontends;
using Fastsock.Samples.Proxy.Stats;

namespace Fastsock.Tests.Proxy;

/// <summary>What every worker writes is laid out so that two workers never write the same cache line.</summary>
public sealed class PerWorkerLayoutTests
{
    [Fact]
    public void A_frontends_per_worker_session_count_fills_two_cache_lines_with_its_fields_in_the_middle()
    {
        Assert.Equal(128, Unsafe.SizeOf<WorkerSessions>());
        var workers = new WorkerSessions[2];
        long first = Unsafe.ByteOffset(ref Unsafe.As<WorkerSessions, byte>(ref workers[0]), ref Unsafe.As<int, byte>(ref workers[0].Open));
        long apart = Unsafe.ByteOffset(ref workers[0].Open, ref workers[1].Open);
        Assert.Equal(64, first);
        Assert.Equal(128, apart);
    }

    [Fact]
    public void A_row_of_backend_connection_counters_is_one_cache_line()
    {
        Assert.Equal(64, Unsafe.SizeOf<BackendConnectionCounters>());
    }
}
