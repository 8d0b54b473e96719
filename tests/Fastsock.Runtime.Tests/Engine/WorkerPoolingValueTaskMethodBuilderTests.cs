// These tests misuse ValueTasks on purpose (stored, read twice, read early, read synchronously) to check the builder.
#pragma warning disable CA2012, xUnit1031

using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Engine;

/// <summary>Async methods built by <see cref="WorkerPoolingValueTaskMethodBuilder{TResult}"/> behave like ValueTask methods.</summary>
public sealed class WorkerPoolingValueTaskMethodBuilderTests
{
    private static readonly AsyncLocal<string?> s_flowed = new();

    [Fact]
    public async Task A_method_that_suspends_returns_its_result_once_resumed()
    {
        var gate = new ManualGate();
        var task = DoubleAfterAsync(gate);
        Assert.False(task.IsCompleted);
        gate.Open(20);
        Assert.True(task.IsCompletedSuccessfully);
        Assert.Equal(42, await Within(task));
    }

    [Fact]
    public async Task A_method_that_never_suspends_completes_synchronously_without_a_box()
    {
        var task = ImmediateAsync(7);
        var untyped = NothingAsync();
        Assert.True(task.IsCompletedSuccessfully);
        Assert.True(untyped.IsCompletedSuccessfully);
        Assert.Equal(7, await Within(task));
        await untyped.AsTask().WaitAsync(Clients.Timeout);

        SteadyStateAllocation.AssertNothingPerIteration(
            calls =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < calls; i++)
                {
                    if (!ImmediateAsync(i).IsCompletedSuccessfully || !NothingAsync().IsCompletedSuccessfully)
                    {
                        throw new InvalidOperationException($"call {i} suspended");
                    }
                }

                return GC.GetAllocatedBytesForCurrentThread() - before;
            },
            warmUp: 100,
            iterations: 1000);
    }

    [Fact]
    public async Task Exceptions_thrown_before_or_after_suspending_reach_the_awaiter()
    {
        var early = Assert.ThrowsAsync<FormatException>(async () => await ThrowAsync(null));
        var gate = new ManualGate();
        var failing = new ManualGate();
        var pending = ThrowAsync(gate);
        var untyped = ThrowUntypedAsync(failing);
        Assert.False(pending.IsCompleted);
        gate.Open(1);
        failing.Fail(new TimeoutException("from the gate"));

        await early.WaitAsync(Clients.Timeout);
        await Assert.ThrowsAsync<FormatException>(() => Within(pending));
        var fromGate = await Assert.ThrowsAsync<TimeoutException>(() => untyped.AsTask().WaitAsync(Clients.Timeout));
        Assert.Equal("from the gate", fromGate.Message);
    }

    [Fact]
    public void Awaiting_a_task_twice_throws_InvalidOperationException_even_after_its_box_is_reused()
    {
        var gate = new ManualGate();
        var task = DoubleAfterAsync(gate);
        gate.Open(1);
        Assert.Equal(4, task.GetAwaiter().GetResult());
        Assert.Throws<InvalidOperationException>(() => task.GetAwaiter().GetResult());

        var next = DoubleAfterAsync(gate); // takes the box back from the pool
        Assert.Throws<InvalidOperationException>(() => task.GetAwaiter().GetResult());
        gate.Open(2);
        Assert.Equal(6, next.GetAwaiter().GetResult());
    }

    [Fact]
    public void Reading_the_result_before_completion_throws_and_leaves_the_method_running()
    {
        var gate = new ManualGate();
        var task = DoubleAfterAsync(gate);
        Assert.Throws<InvalidOperationException>(() => task.GetAwaiter().GetResult());
        gate.Open(3);
        Assert.Equal(8, task.GetAwaiter().GetResult());
    }

    [Fact]
    public async Task A_method_resumed_on_another_thread_completes_there_in_its_own_execution_context()
    {
        var gate = new ManualGate();
        s_flowed.Value = "caller";
        var task = ReadFlowedAfterAsync(gate);
        Assert.Equal("caller", s_flowed.Value); // the method's own change did not leak out at its first suspension

        int opener = 0;
        var thread = new Thread(() =>
        {
            opener = Environment.CurrentManagedThreadId;
            gate.Open(0);
        });
        thread.Start();
        Assert.True(thread.Join(Clients.Timeout), "the opening thread did not finish");

        var (flowed, resumedOn) = await Within(task);
        Assert.Equal("method", flowed); // the method's context flowed to the thread that resumed it
        Assert.Equal("caller", s_flowed.Value);
        Assert.Equal(opener, resumedOn);
    }

    [Fact]
    public async Task More_suspended_methods_than_the_pool_holds_all_complete()
    {
        const int count = 600;
        var gates = new ManualGate[count];
        var tasks = new ValueTask<int>[count];
        for (int i = 0; i < count; i++)
        {
            gates[i] = new ManualGate();
            tasks[i] = OuterAsync(gates[i]);
        }

        for (int i = 0; i < count; i++)
        {
            gates[i].Open(i);
        }

        for (int i = 0; i < count; i++)
        {
            Assert.Equal(((i + 1) * 2) + 1, await Within(tasks[i]));
        }
    }

    [Fact]
    public void Many_methods_suspended_at_once_reuse_their_boxes_without_allocating()
    {
        const int concurrent = 64;
        const int rounds = 200;
        Exception? failure = null;

        // A fresh thread: its pools start empty, and the count covers only this thread.
        var thread = new Thread(() =>
        {
            try
            {
                var gates = new ManualGate[concurrent];
                var tasks = new ValueTask<int>[concurrent];
                for (int i = 0; i < concurrent; i++)
                {
                    gates[i] = new ManualGate();
                }

                // The warm-up fills the pools; windows after it, since tiered compilation may allocate once.
                SteadyStateAllocation.AssertNothingPerIteration(
                    n =>
                    {
                        long before = GC.GetAllocatedBytesForCurrentThread();
                        RunRounds(gates, tasks, n);
                        return GC.GetAllocatedBytesForCurrentThread() - before;
                    },
                    warmUp: 3,
                    iterations: rounds);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        Assert.True(thread.Join(Clients.Timeout), "the rounds did not finish");

        Assert.Null(failure);
    }

    /// <summary>Awaits <paramref name="task"/> once, failing after <see cref="Clients.Timeout"/> instead of hanging.</summary>
    private static Task<T> Within<T>(ValueTask<T> task) => task.AsTask().WaitAsync(Clients.Timeout);

    private static void RunRounds(ManualGate[] gates, ValueTask<int>[] tasks, int rounds)
    {
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < gates.Length; i++)
            {
                tasks[i] = OuterAsync(gates[i]);
            }

            for (int i = 0; i < gates.Length; i++)
            {
                gates[i].Open(i);
            }

            for (int i = 0; i < gates.Length; i++)
            {
                if (tasks[i].GetAwaiter().GetResult() != ((i + 1) * 2) + 1)
                {
                    throw new InvalidOperationException($"Wrong result for method {i}.");
                }
            }
        }
    }

    // Three builders nested, as in the proxy session: typed, untyped, typed.
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private static async ValueTask<int> OuterAsync(ManualGate gate)
    {
        int doubled = await DoubleAfterAsync(gate).ConfigureAwait(false);
        await NothingAfterAsync(doubled).ConfigureAwait(false);
        return doubled + 1;
    }

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private static async ValueTask<int> DoubleAfterAsync(ManualGate gate) => (await gate.WaitAsync().ConfigureAwait(false) + 1) * 2;

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]
    private static async ValueTask NothingAfterAsync(int value)
    {
        if (value < 0)
        {
            await Task.Yield();
        }
    }

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ImmediateAsync(int value)
    {
        await new ValueTask<int>(0).ConfigureAwait(false);
        return value;
    }

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]
    private static async ValueTask NothingAsync() => await ValueTask.CompletedTask.ConfigureAwait(false);

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ThrowAsync(ManualGate? gate)
    {
        if (gate is not null)
        {
            await gate.WaitAsync().ConfigureAwait(false);
        }

        throw new FormatException("thrown by the method");
    }

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]
    private static async ValueTask ThrowUntypedAsync(ManualGate gate)
    {
        await Task.Yield();
        await gate.WaitAsync().ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private static async ValueTask<(string? Flowed, int Thread)> ReadFlowedAfterAsync(ManualGate gate)
    {
        s_flowed.Value = "method"; // changes the method's copy of the context only
        await gate.WaitAsync().ConfigureAwait(false);
        return (s_flowed.Value, Environment.CurrentManagedThreadId);
    }
}
