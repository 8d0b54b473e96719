using Fastsock.Engine;
using Fastsock.Locality;
using Fastsock.Native;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Tests.Engine;

/// <summary>
/// The kernel hands a closed fd number to the next open at once: a second close of the worker's epoll fd or
/// eventfd closes whatever the process opened meanwhile (once the .NET runtime's own thread-start pipe).
/// </summary>
public sealed class WorkerDisposeTests
{
    private const int F_GETFD = 1;

    [Fact]
    public void Disposing_a_worker_twice_leaves_the_fds_opened_in_between_open()
    {
        var worker = new Worker(0, CpuSet.Allowed()[0], NullLogger.Instance);
        worker.Dispose();

        // Opened right after the first Dispose, these take the lowest free numbers: the two it just closed among them.
        var opened = new int[8];
        for (int i = 0; i < opened.Length; i++)
        {
            opened[i] = FileCalls.EventFd(0, FileCalls.EFD_CLOEXEC);
            Assert.True(opened[i] >= 0, $"eventfd failed with errno {Errno.Last}");
        }

        try
        {
            worker.Dispose();
            foreach (int fd in opened)
            {
                Assert.True(SpliceCalls.Fcntl(fd, F_GETFD, 0) >= 0, $"fd {fd}, opened after the worker's first Dispose, was closed by its second one");
            }
        }
        finally
        {
            foreach (int fd in opened)
            {
                FileCalls.Close(fd);
            }
        }
    }
}
