using System.IO.Pipelines;
using Fastsock.Engine;

namespace Fastsock.Transport.Forwarding;

/// <summary>The handoff: which connections can be spliced, and lending their fds with what their input pipes hold.</summary>
internal sealed partial class SpliceForwarder
{
    /// <summary>Whether <paramref name="first"/> and <paramref name="second"/> can be spliced now, after a turn, or not at all.</summary>
    public static SpliceReadiness Check(Worker? worker, Connection first, Connection second)
    {
        if (s_unsupported || worker is null || !worker.IsCurrentThread)
        {
            return SpliceReadiness.No;
        }

        var a = AsSocket(first);
        var b = AsSocket(second);
        if (a is null || b is null || ReferenceEquals(a, b) || a.Worker != worker || b.Worker != worker || !a.CanSplice || !b.CanSplice)
        {
            return SpliceReadiness.No;
        }

        return a.HasPendingOutput || b.HasPendingOutput ? SpliceReadiness.OutputPending : SpliceReadiness.Ready;
    }

    /// <summary>
    /// Starts splicing when <see cref="Check"/> says <see cref="SpliceReadiness.Ready"/> and the worker has pipes;
    /// otherwise returns false and nothing changed.
    /// </summary>
    public static bool TryStart(Worker? worker, Connection first, Connection second, ForwardingOptions options, out Task<ForwardResult> task)
    {
        task = null!;
        if (Check(worker, first, second) != SpliceReadiness.Ready)
        {
            return false;
        }

        var a = AsSocket(first)!;
        var b = AsSocket(second)!;

        // What the input pipes hold already goes first. A failed input is left to the copy engine to report.
        var firstInput = first.Transport.Input;
        var secondInput = second.Transport.Input;
        ReadResult firstRead = default;
        ReadResult secondRead = default;
        bool hasFirst;
        bool hasSecond;
        try
        {
            hasFirst = firstInput.TryRead(out firstRead);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false;
        }

        try
        {
            hasSecond = secondInput.TryRead(out secondRead);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (hasFirst)
            {
                firstInput.AdvanceTo(firstRead.Buffer.Start);
            }

            return false;
        }

        var pipes = worker!.Pipes;
        if (!pipes.TryRent(options.PipeSize, out var pipeA, out _) || !TryRentSecond(pipes, options.PipeSize, pipeA, out var pipeB))
        {
            if (hasFirst)
            {
                firstInput.AdvanceTo(firstRead.Buffer.Start);
            }

            if (hasSecond)
            {
                secondInput.AdvanceTo(secondRead.Buffer.Start);
            }

            return false;
        }

        var forwarder = new SpliceForwarder(worker!, first, second, a, b, pipeA, pipeB, options);
        if (hasFirst)
        {
            forwarder._toSecond.TakePrefix(firstInput, firstRead);
        }

        if (hasSecond)
        {
            forwarder._toFirst.TakePrefix(secondInput, secondRead);
        }

        a.BeginSplice(forwarder);
        b.BeginSplice(forwarder);
        task = forwarder._done.Task;
        forwarder.Run();
        return true;
    }

    internal static SocketConnection? AsSocket(Connection connection) => connection switch
    {
        SocketConnection socket => socket,
        OutboundConnection outbound => outbound.Socket,
        _ => null,
    };

    private static bool TryRentSecond(Memory.KernelPipeCache pipes, int size, in Memory.KernelPipe first, out Memory.KernelPipe second)
    {
        if (pipes.TryRent(size, out second, out _))
        {
            return true;
        }

        pipes.Return(first, empty: true);
        return false;
    }
}

internal enum SpliceReadiness
{
    No,
    OutputPending,
    Ready,
}
