using System.Net;
using Fastsock.Engine;
using Fastsock.Hosting.Handover;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Hosting;

public sealed partial class FastsockServer
{
    private readonly TaskCompletionSource _handedOver = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ListenerOffer? _offer;
    private ListenerTakeover? _takeover;
    private int _inheritedCount;
    private string? _inheritedOrigin;

    /// <summary>
    /// Completes when this server has handed its listening sockets to a successor
    /// (<see cref="ListenerHandoverOptions.OfferPath"/>): it accepts no more connections, and should now stop so the
    /// connections in flight finish. <see cref="WaitForShutdownAsync"/> (and so <see cref="RunAsync"/>) returns then.
    /// </summary>
    public Task HandedOver => _handedOver.Task;

    /// <summary>Sockets from a running server (takeover) or systemd, per endpoint; null entries are bound as usual.</summary>
    private InheritedGroup?[]? TakeInheritedListeners(int workers)
    {
        IPEndPoint[] requested = [.. _bindings.Select(b => b.EndPoint)];
        var handover = _options.Handover;
        if (handover.TakeOverFrom is { } path)
        {
            // Ticket keys are replaced here, before any listener is opened: no handshake has used the old ones.
            _takeover = ListenerTakeover.Connect(path, handover.Timeout, handover.TicketKeys);
            try
            {
                ThrowIfOfferedElsewhere(handover);
            }
            catch (ListenerHandoverException ex)
            {
                throw _takeover.Refuse(ex.Message); // the running server keeps its sockets and serves on
            }

            return _takeover.Match(requested, workers, _options.Steering);
        }

        ThrowIfOfferedElsewhere(handover);
        return handover.UseSystemdSockets ? SystemdListeners.Take(requested, workers, _options.Steering) : null;
    }

    /// <summary>
    /// Refuses to start where another live server offers its listeners at our offer path, before any bind: joining a
    /// running server's reuseport groups would take a share of its connections until this start failed on the offer.
    /// </summary>
    private static void ThrowIfOfferedElsewhere(ListenerHandoverOptions handover)
    {
        if (handover.OfferPath is { } offerPath && !SamePath(offerPath, handover.TakeOverFrom))
        {
            ListenerOffer.ThrowIfOffered(offerPath);
        }
    }

    /// <summary>Whether the offer path is the one taken over from: that server lets it go before this one offers there.</summary>
    private static bool SamePath(string offerPath, string? takeOverFrom) =>
        takeOverFrom is not null && Path.GetFullPath(offerPath) == Path.GetFullPath(takeOverFrom);

    /// <summary>Binds endpoint <paramref name="index"/>, or adopts its inherited sockets (the group owns them from here on).</summary>
    private ListenerGroup OpenGroup(int index, InheritedGroup?[]? inheritedGroups, SocketConnectionPool[] pools)
    {
        var (endPoint, handler) = _bindings[index];
        var inherited = inheritedGroups?[index];
        if (inherited is not null)
        {
            inheritedGroups![index] = null;
            _inheritedCount += inherited.FdsBySlot.Length;
            _inheritedOrigin = inherited.Origin;
        }

        return inherited is null
            ? ListenerGroup.Open(endPoint, _options.Steering, _options.ListenBacklog, _options.Connection.NoDelay, pools, handler)
            : ListenerGroup.Adopt(endPoint, _options.Steering, inherited.FdsBySlot, inherited.WorkerBySlot, _options.ListenBacklog, _options.Connection.NoDelay, pools, handler);
    }

    /// <summary>After the workers accept on every socket: lets the old server go, then offers our own sockets.</summary>
    private void CompleteHandoverStart()
    {
        if (_inheritedCount > 0)
        {
            HandoverLog.TookOver(_logger, _inheritedCount, _takeover is null ? "systemd (LISTEN_FDS)" : $"{_options.Handover.TakeOverFrom} ({_inheritedOrigin})");
        }

        if (_takeover is { } takeover)
        {
            try
            {
                takeover.Confirm();
            }
            catch (Exception ex) when (ex is IOException or TimeoutException or Native.NativeCallException)
            {
                HandoverLog.NotConfirmed(_logger, ex.Message);
            }

            takeover.Dispose();
            _takeover = null;
        }

        var handover = _options.Handover;
        if (handover.EnableTcpMigrateReq && (handover.OfferPath is not null || handover.TakeOverFrom is not null))
        {
            TcpMigrateReq.Enable(_logger);
        }

        if (handover.OfferPath is { } path)
        {
            try
            {
                _offer = ListenerOffer.Start(path, DescribeListeners, ReleaseListeners, handover.Timeout, _loggerFactory.CreateLogger("Fastsock.Hosting.Handover"), handover.TicketKeys);
            }
            catch (Exception ex) when (_inheritedCount > 0 && ex is Native.NativeCallException or ListenerHandoverException or ArgumentException)
            {
                // The old server has let go already: failing now would leave nobody accepting. Serve, unoffered.
                HandoverLog.OfferFailed(_logger, ex.Message);
            }
        }
    }

    /// <summary>A start that failed after receiving sockets: the running server keeps them and keeps serving.</summary>
    private void AbandonTakeover(Exception reason, InheritedGroup?[]? inherited)
    {
        if (_takeover is { } takeover)
        {
            if (reason is not ListenerHandoverException)
            {
                takeover.Refuse(reason.Message); // a refusal from Match has told it already
            }

            takeover.Dispose();
            _takeover = null;
        }

        // Groups opened before the failure own (and closed) their sockets; close our copies of the ones never adopted.
        for (int i = 0; inherited is not null && i < inherited.Length; i++)
        {
            if (inherited[i] is { } group)
            {
                foreach (int fd in group.FdsBySlot)
                {
                    Native.FileCalls.Close(fd);
                }
            }
        }
    }

    private (ListenerSetDescription, int[]) DescribeListeners()
    {
        var groups = new List<OfferedGroup>();
        var fds = new List<int>();
        foreach (var group in _groups)
        {
            var (groupFds, workerBySlot) = group.SnapshotSlots();
            groups.Add(new OfferedGroup(group.RequestedEndPoint, group.BoundEndPoint, workerBySlot));
            fds.AddRange(groupFds);
        }

        return (new ListenerSetDescription(Environment.ProcessId, _workers.Length, _options.Steering, groups), [.. fds]);
    }

    /// <summary>Every worker stops polling its listening sockets (which stay open, in their groups, for the successor).</summary>
    private void ReleaseListeners()
    {
        var released = OnEachWorkerAsync(static worker =>
        {
            foreach (var handler in worker.SnapshotHandlers())
            {
                (handler as LocalListener)?.Release();
            }
        });
        released.Wait(BclTimerDelay.From(_options.Handover.Timeout));
        _handedOver.TrySetResult();
    }
}
