using System.Net;
using System.Net.Sockets;
using Fastsock.Hosting;
using Fastsock.Hosting.Handover;
using Fastsock.Native;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Hosting;

/// <summary>
/// A successor taking over from a peer that does not behave: a real AF_UNIX SOCK_SEQPACKET socket in the test offers
/// a malformed description, a slot naming a worker that does not exist, or more descriptors than it announced. The
/// start fails with one line, the peer is told it was refused (a real server would keep serving), and every
/// descriptor that arrived is closed: none of the handed socket's copies is left open in this process.
/// </summary>
public sealed class HandoverReceiverTests : IDisposable
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(10);
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"fastsock-fake-{Guid.NewGuid():N}.sock");

    public void Dispose() => File.Delete(_path);

    public static TheoryData<string, string, int> MalformedOffers => new()
    {
        // A batch with more descriptors than asked for: the kernel installs what fits and truncates (MSG_CTRUNC).
        { "more descriptors than announced", Description(slots: "0"), 5 },
        { "a slot naming a worker that does not exist", Description(slots: "7"), 1 },
        { "a worker count that is not a number", Description(slots: "0").Replace("workers 1", "workers 99999999999", StringComparison.Ordinal), 1 },
        { "a steering mode that does not exist", Description(slots: "0").Replace("steering cpu", "steering 7", StringComparison.Ordinal), 1 },
        { "a group without its bound address", Description(slots: "0").Replace("127.0.0.1:0 ", "", StringComparison.Ordinal), 1 },
    };

    [Theory]
    [MemberData(nameof(MalformedOffers))]
    public async Task A_malformed_offer_fails_the_takeover_in_one_line_and_leaves_no_received_descriptor_open(string offer, string description, int descriptors)
    {
        using var handed = new Socket(SocketType.Stream, ProtocolType.Tcp);
        handed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        handed.Listen();
        int handedFd = (int)handed.Handle;
        int before = OpenCopies(handedFd);

        using var peer = FakeOffer.Listen(_path);
        var answered = peer.ServeOnceAsync(description.Replace("{port}", ((IPEndPoint)handed.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal), [.. Enumerable.Repeat(handedFd, descriptors)]);

        var failed = await Assert.ThrowsAsync<ListenerHandoverException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.TakeOverFrom = _path;
            o.Handover.Timeout = PeerTimeout;
        }));

        Assert.True(before == OpenCopies(handedFd), $"{offer}: {OpenCopies(handedFd) - before} received copies of the handed socket are still open ({failed.Message})");
        Assert.StartsWith($"takeover from {_path} failed: ", failed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failed.Message);
        var answer = await answered.WaitAsync(Clients.Timeout);
        // Told why, or (when the successor closed with descriptors still queued to it) reset: never "ready".
        Assert.True(answer.StartsWith("refuse ", StringComparison.Ordinal) || answer == FakeOffer.Closed, $"{offer}: the peer was answered '{answer}'");
    }

    private static string Description(string slots) =>
        $"fastsock-listeners 1\npid 4242\nworkers 1\nsteering cpu\ngroup 127.0.0.1:0 127.0.0.1:{{port}} {slots}\n";

    /// <summary>How many descriptors of this process refer to the same socket as <paramref name="fd"/> (its inode).</summary>
    private static int OpenCopies(int fd)
    {
        var target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        Assert.NotNull(target);
        int count = 0;
        foreach (var entry in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget == target)
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed while listed (the listing's own descriptor, say).
            }
        }

        return count;
    }

    /// <summary>The running server's side of a hand-over, as a peer that sends whatever the test gives it.</summary>
    private sealed unsafe class FakeOffer : IDisposable
    {
        private int _fd;

        private FakeOffer(int fd) => _fd = fd;

        public static FakeOffer Listen(string path)
        {
            var address = UnixSocketAddress.From(new UnixDomainSocketEndPoint(path));
            int fd = SocketCalls.Socket(SocketCalls.AF_UNIX, DescriptorPassingCalls.SOCK_SEQPACKET | SocketCalls.SOCK_CLOEXEC, 0);
            Assert.True(fd >= 0);
            fixed (byte* pointer = address.Bytes)
            {
                Assert.Equal(0, SocketCalls.Bind(fd, pointer, address.Length));
            }

            Assert.Equal(0, SocketCalls.Listen(fd, 1));
            return new FakeOffer(fd);
        }

        public const string Closed = "(closed)";

        /// <summary>Accepts one successor, sends it the description and one batch of descriptors, returns its answer.</summary>
        public Task<string> ServeOnceAsync(string description, int[] fds) => Task.Factory.StartNew(
            () =>
            {
                int client = SocketCalls.Accept4(_fd, null, null, SocketCalls.SOCK_CLOEXEC);
                Assert.True(client >= 0, "accept4 on the fake offer failed");
                using var channel = new HandoverChannel(client, PeerTimeout);
                channel.SendText(description);
                try
                {
                    channel.SendDescriptors(fds);
                }
                catch (NativeCallException)
                {
                    // The successor refused on the description alone and closed: its answer is already queued.
                }

                try
                {
                    return channel.ReceiveText() ?? Closed;
                }
                catch (NativeCallException ex) when (ex.Errno == Errno.ECONNRESET)
                {
                    return Closed; // it closed with our descriptors unread: a real server logs that and keeps serving
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        public void Dispose()
        {
            int fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
            {
                FileCalls.Close(fd);
            }
        }
    }
}
