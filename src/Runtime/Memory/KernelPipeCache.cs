using Fastsock.Native;

namespace Fastsock.Memory;

/// <summary>One kernel pipe (read end, write end) and its capacity in bytes.</summary>
internal readonly record struct KernelPipe(int ReadFd, int WriteFd, int Size);

/// <summary>
/// A worker's kernel pipes for <c>splice(2)</c> forwarding, the kernel-side twin of <see cref="CoreMemoryPool"/>:
/// creating a pipe and sizing it costs three syscalls, so empty pipes are kept for the next forward. Only empty
/// pipes come back (a pipe still holding bytes would leak them into another connection); the rest are closed.
/// Owner worker thread only; the counts are read from other threads for metrics.
/// </summary>
internal sealed unsafe class KernelPipeCache : IDisposable
{
    public const int DefaultMaxRetained = 64;

    private readonly KernelPipe[] _free;
    private int _count;
    private long _open;

    public KernelPipeCache(int maxRetained = DefaultMaxRetained) => _free = new KernelPipe[maxRetained];

    /// <summary>Pipes open on this worker: lent to forwards plus cached.</summary>
    public long Open => Volatile.Read(ref _open);

    /// <summary>Empty pipes waiting in the cache.</summary>
    public int Cached => Volatile.Read(ref _count);

    public int MaxRetained => _free.Length;

    /// <summary>An empty pipe of at least <paramref name="size"/> bytes when the kernel allows it; false with errno when pipe2 fails.</summary>
    public bool TryRent(int size, out KernelPipe pipe, out int errno)
    {
        errno = 0;
        if (_count > 0)
        {
            pipe = _free[--_count];
            if (pipe.Size != size)
            {
                pipe = pipe with { Size = Resize(pipe.WriteFd, size) };
            }

            return true;
        }

        int* fds = stackalloc int[2];
        if (SpliceCalls.Pipe2(fds, SpliceCalls.O_NONBLOCK | SpliceCalls.O_CLOEXEC) != 0)
        {
            errno = Errno.Last;
            pipe = default;
            return false;
        }

        _open++;
        pipe = new KernelPipe(fds[0], fds[1], Resize(fds[1], size));
        return true;
    }

    /// <summary>Takes a pipe back; it is cached only when <paramref name="empty"/> and there is room, closed otherwise.</summary>
    public void Return(in KernelPipe pipe, bool empty)
    {
        if (empty && _count < _free.Length)
        {
            _free[_count++] = pipe;
            return;
        }

        Close(pipe);
    }

    public void Dispose()
    {
        while (_count > 0)
        {
            Close(_free[--_count]);
        }
    }

    private void Close(in KernelPipe pipe)
    {
        FileCalls.Close(pipe.ReadFd);
        FileCalls.Close(pipe.WriteFd);
        _open--;
    }

    /// <summary>F_SETPIPE_SZ; when refused (over pipe-max-size or the user's pipe quota) the pipe keeps its size.</summary>
    private static int Resize(int fd, int size)
    {
        int actual = SpliceCalls.Fcntl(fd, SpliceCalls.F_SETPIPE_SZ, size);
        if (actual > 0)
        {
            return actual;
        }

        actual = SpliceCalls.Fcntl(fd, SpliceCalls.F_GETPIPE_SZ, 0);
        return actual > 0 ? actual : 64 * 1024;
    }
}
