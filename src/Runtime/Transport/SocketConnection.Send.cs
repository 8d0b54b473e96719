using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Native;

// The pipe operations here are observed through awaiter callbacks: GetResult runs only after completion.
#pragma warning disable CA2012

namespace Fastsock.Transport;

internal sealed partial class SocketConnection
{
    private const int MaxVectorsPerWrite = 64;

    private static readonly Action<object?> s_onOutputReadable = static state => ((SocketConnection)state!).OnOutputReadable();

    private bool _outputReadPending; // the pipe keeps the pending read itself: no ValueTask copy here while idle
    private ReadResult _outputResult;
    private bool _hasOutput;
    private bool _flushQueued;
    private bool _waitingWritable;
    private bool _sendEnded;

    /// <summary>Waits for the handler's next flush. The continuation runs inline, in the flush (the output pipe is built with readerRunsInline).</summary>
    private void StartOutputRead()
    {
        var read = _output.Reader.ReadAsync();
        if (read.IsCompleted)
        {
            TakeOutput(read);
            return;
        }

        _outputReadPending = true;
        _output.OnPendingReadCompleted(read, s_onOutputReadable, this);
    }

    private void OnOutputReadable()
    {
        if (!_worker.IsCurrentThread)
        {
            // The handler flushed from another thread (it left the worker with ConfigureAwait(false)); a worker pipe
            // refuses that, System.IO.Pipelines' Pipe accepts it.
            _worker.Post(static state => ((SocketConnection)state!).OnOutputReadable(), this);
            return;
        }

        _outputReadPending = false;
        TakeOutput(_output.TakePendingRead());
    }

    private void TakeOutput(ValueTask<ReadResult> read)
    {
        try
        {
            _outputResult = read.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The handler completed its output with an error: nothing more is sent; abort so the peer knows.
            _outputResult = default;
            _hasOutput = false;
            if (!_closed)
            {
                CloseNow(abort: true, ex);
            }

            TryRelease();
            return;
        }

        if (_closed)
        {
            _output.Reader.Complete();
            _sendEnded = true;
            TryRelease();
            return;
        }

        _hasOutput = true;
        if (!_flushQueued)
        {
            _flushQueued = true;
            _worker.QueueFlush(this);
        }
    }

    private void OnWritable()
    {
        if (!_waitingWritable || _closed)
        {
            return;
        }

        _waitingWritable = false;
        if (_output.Reader.TryRead(out _outputResult))
        {
            _hasOutput = true;
            if (!_flushQueued)
            {
                _flushQueued = true;
                _worker.QueueFlush(this);
            }
        }
    }

    /// <summary>End of loop turn: send everything the handler flushed, in as few writev calls as the kernel takes.</summary>
    public void Flush()
    {
        _flushQueued = false;
        if (_closed)
        {
            TryRelease();
            return;
        }

        while (_hasOutput && !_closed)
        {
            if (_output.FlushedSince(_outputResult))
            {
                // The handler flushed again after this read was taken, in the same turn (a TLS close_notify after the
                // last response, a second response): take all of it, so that it leaves in one send, not two.
                _output.Reader.AdvanceTo(_outputResult.Buffer.Start);
                _output.Reader.TryRead(out _outputResult);
            }

            var buffer = _outputResult.Buffer;
            long length = buffer.Length;
            if (length > 0)
            {
                long sent = Write(buffer);
                if (sent < 0)
                {
                    return; // failed and closed
                }

                _worker.Counters.BytesSent += sent;
                _lastActivityMs = _worker.NowMs;
                if (sent < length)
                {
                    // The socket buffer is full: keep the rest and wait for EPOLLOUT (already registered, edge-triggered).
                    _output.Reader.AdvanceTo(buffer.GetPosition(sent));
                    _hasOutput = false;
                    _waitingWritable = true;
                    return;
                }
            }

            _output.Reader.AdvanceTo(buffer.End);
            _hasOutput = false;
            if (_outputResult.IsCompleted)
            {
                EndSend();
                return;
            }

            var next = _output.Reader.ReadAsync();
            if (next.IsCompleted)
            {
                TakeOutput(next);
                continue;
            }

            _outputReadPending = true;
            _output.OnPendingReadCompleted(next, s_onOutputReadable, this);
        }
    }

    /// <summary>One send (one segment) or writev (up to 64), repeated while the kernel takes everything; -1 after a failure.</summary>
    private unsafe long Write(in ReadOnlySequence<byte> buffer)
    {
        IoVector* vectors = stackalloc IoVector[MaxVectorsPerWrite];
        var handles = _worker.PinScratch;
        long total = 0;
        var position = buffer.Start;
        while (true)
        {
            int count = 0;
            long batch = 0;
            var next = position;
            while (count < MaxVectorsPerWrite && buffer.TryGet(ref next, out var segment))
            {
                if (segment.IsEmpty)
                {
                    position = next;
                    continue;
                }

                handles[count] = segment.Pin();
                vectors[count].Base = (byte*)handles[count].Pointer;
                vectors[count].Length = (nuint)segment.Length;
                batch += segment.Length;
                count++;
                position = next;
            }

            if (count == 0)
            {
                return total;
            }

            nint written;
            do
            {
                // One buffer (most responses and request heads): send, which skips the VFS layer and the iovec import.
                written = count == 1
                    ? SocketCalls.Send(_fd, vectors[0].Base, (nint)vectors[0].Length, SocketCalls.MSG_NOSIGNAL)
                    : FileCalls.Writev(_fd, vectors, count);
            }
            while (written < 0 && Errno.Last == Errno.EINTR);

            _worker.Counters.SendCalls++;
            int errno = written < 0 ? Errno.Last : 0;
            for (int i = 0; i < count; i++)
            {
                handles[i].Dispose();
                handles[i] = default;
            }

            if (written < 0)
            {
                if (errno == Errno.EAGAIN)
                {
                    return total;
                }

                Fail(new ConnectionResetException($"{(count == 1 ? "send" : "writev")}: {Errno.Name(errno)} ({Errno.Describe(errno)})"));
                return -1;
            }

            total += written;
            if (written < batch)
            {
                return total;
            }
        }
    }

    /// <summary>The handler completed its output and all of it is sent: FIN to the peer; reading may go on.</summary>
    private void EndSend()
    {
        _sendEnded = true;
        _output.Reader.Complete();
        if (!_receiveEnded && !_handlerDone)
        {
            // Half-close: the peer gets our FIN while we keep reading. When the connection closes now anyway,
            // close() sends the FIN and this call is saved.
            SocketCalls.Shutdown(_fd, SocketCalls.SHUT_WR);
        }

        CloseIfDone();
    }
}
