using System.Net;
using Fastsock.Engine;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Tests.Locality;

/// <summary>
/// The kernel keeps a reuseport group as an array; closing a member moves the last socket into the freed index.
/// The CPU steering program returns indexes, so after a close it must be rebuilt from the new order.
///
/// Scenario: a group of three listeners, A (slot 0) and B (slot 1) tied to no CPU and C (slot 2) for CPU k; the
/// program says "CPU k → 2". B closes: C moves to slot 1 and the group has two members. A stale program still
/// answers 2, which is past the end, so the kernel falls back to its flow hash and CPU k's connections land on A
/// about half the time. Re-attached with the mirrored order ("CPU k → 1"), every one lands on C.
///
/// Since Linux 6.1 the hash fallback itself prefers a listener whose SO_INCOMING_CPU matches the current CPU, which
/// would hide a stale program; the listeners here carry no SO_INCOMING_CPU so the program alone decides, as on 5.x.
/// </summary>
public sealed class ReusePortRemapTests
{
    private const int Connections = 40;

    [Fact]
    public async Task Closing_a_middle_listener_keeps_the_moved_listener_steered_to_its_cpu()
    {
        int cpu = CpuSet.Allowed()[0];
        var workers = new[] { new Worker(0, -1, NullLogger.Instance), new Worker(1, -1, NullLogger.Instance), new Worker(2, cpu, NullLogger.Instance) };
        try
        {
            var pools = workers.Select(w => new SocketConnectionPool(w, new ConnectionOptions())).ToArray();
            using var group = ListenerGroup.Open(new IPEndPoint(IPAddress.Loopback, 0), ListenerSteering.Cpu, 128, noDelay: true, pools, TestServers.Echo);
            Assert.Equal([0, 1, 2], group.WorkerBySlot);
            var a = group.ListenerFor(0)!;
            var c = group.ListenerFor(2)!;
            ClearIncomingCpu(c.Fd);

            group.ListenerFor(1)!.Close(); // the worker never started: nothing registered, only the group changes

            Assert.Equal([0, 2], group.WorkerBySlot);
            var accepted = await ConnectAndCountAsync(cpu, group.BoundEndPoint, [a.Fd, c.Fd]);
            Assert.Equal([0, Connections], accepted);
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_stale_program_after_the_same_close_sends_the_cpu_to_the_wrong_listener()
    {
        // The control for the test above, built by hand and without the re-attach: it shows the scenario detects
        // a missing re-attach (A gets connections), so the test above can fail.
        int cpu = CpuSet.Allowed()[0];
        var endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        int a = ListenSocket.Open(endPoint, reusePort: true, incomingCpu: -1, backlog: 128, noDelay: true);
        endPoint = ListenSocket.LocalEndPoint(a);
        int b = ListenSocket.Open(endPoint, reusePort: true, incomingCpu: -1, backlog: 128, noDelay: true);
        int c = ListenSocket.Open(endPoint, reusePort: true, incomingCpu: -1, backlog: 128, noDelay: true);
        try
        {
            ReusePortSteering.Attach(a, [-1, -1, cpu], endPoint.ToString());
            FileCalls.Close(b);

            var accepted = await ConnectAndCountAsync(cpu, endPoint, [a, c]);
            Assert.Equal(Connections, accepted.Sum());
            Assert.True(accepted[0] > 0, "with a stale program every connection still reached the moved listener");
        }
        finally
        {
            FileCalls.Close(a);
            FileCalls.Close(c);
        }
    }

    private static void ClearIncomingCpu(int fd)
    {
        SocketCalls.SetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_INCOMING_CPU, -1, "SO_INCOMING_CPU");
        Assert.Equal(-1, SocketCalls.GetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_INCOMING_CPU));
    }

    /// <summary>Connects <see cref="Connections"/> times from a thread pinned to <paramref name="cpu"/>; counts accepts per listener.</summary>
    private static async Task<int[]> ConnectAndCountAsync(int cpu, IPEndPoint endPoint, int[] listenerFds)
    {
        var clients = await Clients.RunPinnedAsync(cpu, () =>
        {
            var sockets = new List<System.Net.Sockets.Socket>();
            for (int i = 0; i < Connections; i++)
            {
                sockets.Add(Clients.ConnectBlocking(endPoint));
            }

            return sockets;
        });
        try
        {
            var counts = new int[listenerFds.Length];
            Assert.True(
                await Eventually.HoldsAsync(() =>
                {
                    for (int i = 0; i < listenerFds.Length; i++)
                    {
                        counts[i] += AcceptPending(listenerFds[i]);
                    }

                    return counts.Sum() >= Connections;
                }),
                $"only {counts.Sum()} of {Connections} connections reached a listener");
            return counts;
        }
        finally
        {
            foreach (var socket in clients)
            {
                socket.Dispose();
            }
        }
    }

    private static unsafe int AcceptPending(int listenerFd)
    {
        int count = 0;
        while (true)
        {
            int fd = SocketCalls.Accept4(listenerFd, null, null, SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC);
            if (fd < 0)
            {
                return count;
            }

            FileCalls.Close(fd);
            count++;
        }
    }
}
