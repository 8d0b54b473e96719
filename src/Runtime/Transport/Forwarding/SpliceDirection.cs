using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Memory;
using Fastsock.Native;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// One socket of a splice forward and the readiness its edge-triggered events announced. Reusable: a bounded splice
/// keeps its two ends for its next socket pair (<see cref="Reset"/>).
/// </summary>
internal sealed class SpliceEnd
{
    private SocketConnection? _socket;

    public SpliceEnd()
    {
    }

    public SpliceEnd(SocketConnection socket) => Reset(socket);

    public SocketConnection Socket => _socket!;

    public int Fd { get; private set; } = -1;

    /// <summary>Set by EPOLLIN/RDHUP/HUP/ERR, cleared only by EAGAIN on an empty kernel pipe (the only unambiguous EAGAIN).</summary>
    public bool Readable { get; set; } = true;

    /// <summary>Set by EPOLLOUT/HUP/ERR, cleared by EAGAIN when writing.</summary>
    public bool Writable { get; set; } = true;

    /// <summary>This end is now <paramref name="socket"/>, assumed readable and writable until an EAGAIN says otherwise.</summary>
    public void Reset(SocketConnection socket)
    {
        _socket = socket;
        Fd = socket.Fd;
        Readable = true;
        Writable = true;
    }

    /// <summary>Forgets the socket, so that a cached end keeps no connection alive.</summary>
    public void Clear()
    {
        _socket = null;
        Fd = -1;
    }
}

internal enum PumpStatus
{
    Waiting,
    Done,
    BudgetSpent,
    Failed,
    Unsupported,
}

/// <summary>
/// One direction of a splice forward: bytes left in the source's input pipe first (written with write(2)), then
/// source socket → kernel pipe → target socket. The pipe is filled only when empty, so an EAGAIN on the way in
/// always means "socket drained", never "pipe full". Bytes that the target cannot take stay in the kernel pipe until
/// EPOLLOUT; meanwhile nothing more is read, and TCP pushes back on the sender.
/// </summary>
/// <remarks>Reusable: a bounded splice keeps its direction and starts it again for each count (<see cref="Reset"/>).</remarks>
internal sealed class SpliceDirection
{
    private const uint Flags = SpliceCalls.SPLICE_F_MOVE | SpliceCalls.SPLICE_F_NONBLOCK;

    private SpliceEnd _source = null!;
    private SpliceEnd _target = null!;
    private KernelPipe _pipe;
    private Engine.Worker _worker = null!;
    private PipeReader? _prefixReader;
    private ReadOnlySequence<byte> _prefix;
    private int _inPipe;
    private long _taken; // bytes taken from the source socket into the kernel pipe

    public SpliceDirection()
    {
    }

    public SpliceDirection(SpliceEnd source, SpliceEnd target, KernelPipe pipe, Engine.Worker worker) => Reset(source, target, pipe, worker);

    public SpliceEnd Source => _source;

    public SpliceEnd Target => _target;

    public KernelPipe Pipe => _pipe;

    /// <summary>The kernel pipe holds no bytes: it may go back to the cache.</summary>
    public bool PipeEmpty => _inPipe == 0;

    /// <summary>The source's FIN was seen (in the input pipe or by splice returning 0).</summary>
    public bool SourceEnded { get; private set; }

    /// <summary>Everything was forwarded and the target got its FIN.</summary>
    public bool Done { get; private set; }

    /// <summary>Bytes delivered to the target (prefix included).</summary>
    public long Forwarded { get; private set; }

    /// <summary>Bytes delivered through the kernel pipe.</summary>
    public long Spliced { get; private set; }

    /// <summary>
    /// Bytes this direction may still take from the source; unbounded by default. A bounded direction is done when the
    /// limit is delivered (no FIN is passed on), and fails when the source ends first.
    /// </summary>
    public long Limit { get; set; } = long.MaxValue;

    /// <summary>
    /// Bytes of a bounded direction's limit not yet taken from the source: the part of the prefix not written (it stays
    /// in the source's input pipe when the prefix is released) and what the socket has not given. Together with
    /// <see cref="Forwarded"/> and the bytes in the kernel pipe, the whole limit.
    /// </summary>
    public long NotTaken => (_prefixReader is null ? 0 : _prefix.Length) + Limit;

    /// <summary>
    /// Grows with every byte taken from the source or delivered to the target, and only then: a caller that compares it
    /// with an earlier value knows whether the direction moved meanwhile.
    /// </summary>
    public long Progress => Forwarded + _taken;

    /// <summary>
    /// Nothing to deliver and nothing to read until the source's next EPOLLIN: the direction waits on the source alone
    /// (not on a target that does not take bytes, nor on its own budget).
    /// </summary>
    public bool AwaitsSource => !Done && !SourceEnded && _prefixReader is null && _inPipe == 0 && !_source.Readable;

    /// <summary>Tests: the first splice from the socket fails with EINVAL, as on a kernel or socket type without splice.</summary>
    public bool SimulateUnsupported { get; set; }

    /// <summary>The syscall that failed, for the error message.</summary>
    public string FailedCall { get; private set; } = "";

    /// <summary>The failure was the target's (a write or a splice into it): the side the bytes went to is gone.</summary>
    public bool TargetFailed { get; private set; }

    /// <summary>
    /// The source failed and is closed: deliver what was taken from it (the prefix and the kernel pipe) and be done
    /// then, without reading it again or passing a FIN on (the caller resets the target once the bytes are out). As a
    /// bounded direction whose count is all taken.
    /// </summary>
    public void StopTaking() => Limit = 0;

    /// <summary>A fresh direction from <paramref name="source"/> to <paramref name="target"/> through <paramref name="pipe"/>, unbounded.</summary>
    public void Reset(SpliceEnd source, SpliceEnd target, KernelPipe pipe, Engine.Worker worker)
    {
        _source = source;
        _target = target;
        _pipe = pipe;
        _worker = worker;
        _prefixReader = null;
        _prefix = default;
        _inPipe = 0;
        _taken = 0;
        SourceEnded = false;
        Done = false;
        Forwarded = 0;
        Spliced = 0;
        Limit = long.MaxValue;
        SimulateUnsupported = false;
        FailedCall = "";
        TargetFailed = false;
    }

    /// <summary>
    /// Takes what the source's input pipe already holds: it must reach the target before any spliced byte.
    /// The read stays open (not advanced) until those bytes are written.
    /// </summary>
    public void TakePrefix(PipeReader reader, in ReadResult result)
    {
        _prefixReader = reader;
        _prefix = result.Buffer;
        SourceEnded = result.IsCompleted;
        if (Limit != long.MaxValue)
        {
            // Bounded: only the bytes asked for; what follows them stays in the input pipe for its reader.
            _prefix = _prefix.Slice(0, Math.Min(_prefix.Length, Limit));
            Limit -= _prefix.Length;
            SourceEnded &= Limit > 0;
        }

        if (_prefix.IsEmpty)
        {
            ReleasePrefix();
        }
    }

    /// <summary>Moves bytes until a side would block, the direction is done, or <paramref name="budget"/> is spent.</summary>
    public unsafe PumpStatus Pump(long budget, bool nothingSplicedYet, out int errno)
    {
        errno = 0;
        long moved = 0;
        while (!Done)
        {
            if (moved >= budget)
            {
                return PumpStatus.BudgetSpent;
            }

            if (_prefixReader is not null)
            {
                if (!_target.Writable)
                {
                    return PumpStatus.Waiting;
                }

                long written = WritePrefix(out errno);
                if (written < 0)
                {
                    FailedCall = "write";
                    TargetFailed = true;
                    return PumpStatus.Failed;
                }

                moved += written;
                continue;
            }

            if (_inPipe > 0)
            {
                if (!_target.Writable)
                {
                    return PumpStatus.Waiting;
                }

                nint sent = SpliceCalls.Splice(_pipe.ReadFd, null, _target.Fd, null, (nuint)_inPipe, Flags);
                if (sent > 0)
                {
                    _inPipe -= (int)sent;
                    moved += sent;
                    Forwarded += sent;
                    Spliced += sent;
                    _worker.Counters.BytesSpliced += sent;
                    _target.Socket.NoteSpliced(0, sent);
                    continue;
                }

                errno = Errno.Last;
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno == Errno.EAGAIN)
                {
                    _target.Writable = false; // the kernel keeps the bytes in the pipe until EPOLLOUT
                    return PumpStatus.Waiting;
                }

                FailedCall = "splice(pipe → socket)";
                TargetFailed = true;
                return PumpStatus.Failed;
            }

            if (Limit == 0)
            {
                Done = true; // bounded: everything asked for was delivered; the connections go on
                return PumpStatus.Done;
            }

            if (SourceEnded && Limit != long.MaxValue)
            {
                FailedCall = $"splice(socket → pipe): the source ended {Limit} bytes before the end";
                errno = Errno.EPIPE;
                return PumpStatus.Failed;
            }

            if (SourceEnded)
            {
                // Pipe drained after the FIN: pass the FIN on. ENOTCONN (peer gone) shows up on the other direction.
                SocketCalls.Shutdown(_target.Fd, SocketCalls.SHUT_WR);
                Done = true;
                return PumpStatus.Done;
            }

            if (!_source.Readable)
            {
                return PumpStatus.Waiting;
            }

            if (SimulateUnsupported && nothingSplicedYet)
            {
                FailedCall = "splice(socket → pipe)";
                errno = Errno.EINVAL;
                return PumpStatus.Unsupported;
            }

            nint received = SpliceCalls.Splice(_source.Fd, null, _pipe.WriteFd, null, (nuint)Math.Min(_pipe.Size, Limit), Flags);
            if (received > 0)
            {
                _inPipe = (int)received;
                _taken += received;
                if (Limit != long.MaxValue)
                {
                    Limit -= received;
                }

                _source.Socket.NoteSpliced(received, 0);
                continue;
            }

            if (received == 0)
            {
                SourceEnded = true;
                continue;
            }

            errno = Errno.Last;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno == Errno.EAGAIN)
            {
                _source.Readable = false; // the pipe is empty, so the socket is: wait for the next EPOLLIN edge
                return PumpStatus.Waiting;
            }

            FailedCall = "splice(socket → pipe)";
            return (errno is Errno.EINVAL or Errno.ENOSYS) && nothingSplicedYet ? PumpStatus.Unsupported : PumpStatus.Failed;
        }

        return PumpStatus.Done;
    }

    /// <summary>
    /// Ends the input pipe read: what was written is consumed, what was not stays there (for the copy engine when
    /// splice falls back, or dropped with the connection when it is aborted).
    /// </summary>
    public void ReleasePrefix()
    {
        if (_prefixReader is { } reader)
        {
            _prefixReader = null;
            var rest = _prefix.Start;
            _prefix = default;
            reader.AdvanceTo(rest);
        }
    }

    /// <summary>write(2) of the prefix segments; bytes written, or -1 on failure.</summary>
    private unsafe long WritePrefix(out int errno)
    {
        errno = 0;
        long total = 0;
        var position = _prefix.Start;
        while (_prefix.TryGet(ref position, out var segment))
        {
            if (segment.IsEmpty)
            {
                continue;
            }

            nint written;
            using (var pin = segment.Pin())
            {
                written = FileCalls.Write(_target.Fd, (byte*)pin.Pointer, segment.Length);
            }

            if (written > 0)
            {
                _prefix = _prefix.Slice(written);
                position = _prefix.Start;
                total += written;
                Forwarded += written;
                _worker.Counters.BytesCopied += written;
                _target.Socket.NoteSpliced(0, written);
                continue;
            }

            errno = written < 0 ? Errno.Last : Errno.EPIPE;
            if (errno == Errno.EINTR)
            {
                position = _prefix.Start;
                continue;
            }

            if (errno == Errno.EAGAIN)
            {
                _target.Writable = false;
                return total;
            }

            return -1;
        }

        ReleasePrefix();
        return total;
    }
}
