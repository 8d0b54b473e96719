using System.IO.Pipelines;
using Fastsock.Native;

// The pipe operations here are observed through awaiter callbacks: GetResult runs only after completion.
#pragma warning disable CA2012

namespace Fastsock.Transport;

internal sealed partial class SocketConnection
{
    private bool _inputFlushPending; // the pipe keeps the pending flush itself: no ValueTask copy here while idle
    private bool _receiveEnded;
    private bool _peerFinished;
    private bool _localityMeasured;
    private int _incomingCpu = -1;
    private long _receivedTotal; // TCP friends: what this side has read, credited to the peer once per MiB

    /// <summary>
    /// Reads what the socket holds into the input pipe. Memory is rented only once EPOLLIN says data is there,
    /// so a connection waiting for its next request holds no buffer. A short read means the socket is drained:
    /// with edge-triggered epoll any later data raises a new event, so there is no extra read to see EAGAIN
    /// (nginx does the same). Once EPOLLRDHUP was seen, reading goes on until the FIN (read returns 0).
    /// </summary>
    private unsafe void Receive()
    {
        if (_receiveEnded || _inputFlushPending || _closed || _splicer is not null)
        {
            return;
        }

        var writer = _input.Writer;
        long received = 0;
        bool budgetSpent = false;
        while (true)
        {
            var memory = writer.GetMemory(1);
            nint count;
            using (var pin = memory.Pin())
            {
                // recv, not read: the socket call skips the VFS layer (perf/floors/syscall_variants.c: ~0.5 µs less per call here).
                count = SocketCalls.Receive(_fd, (byte*)pin.Pointer, memory.Length, 0);
            }

            if (count > 0)
            {
                writer.Advance((int)count);
                received += count;
                if (count < memory.Length && !_peerFinished)
                {
                    break;
                }

                if (received >= _options.MaxInputBufferSize)
                {
                    budgetSpent = true;
                    break;
                }

                continue;
            }

            if (count == 0)
            {
                // FIN: the handler sees IsCompleted after the bytes already received. Output may go on (half-close).
                writer.Advance(0);
                AccountReceived(received);
                EndReceive(null);
                return;
            }

            int errno = Errno.Last;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            writer.Advance(0);
            if (errno == Errno.EAGAIN)
            {
                break;
            }

            AccountReceived(received);
            Fail(new ConnectionResetException($"recv: {Errno.Name(errno)} ({Errno.Describe(errno)})"));
            return;
        }

        if (received == 0)
        {
            return;
        }

        AccountReceived(received);
        var flush = writer.FlushAsync();
        if (flush.IsCompleted)
        {
            OnInputFlushCompleted(flush.GetAwaiter().GetResult());
            if (budgetSpent && !_receiveEnded)
            {
                // The socket may hold more and edge-triggered epoll will not say so again: read on next turn,
                // after other connections had theirs.
                _worker.Post(static state => ((SocketConnection)state!).Receive(), this);
            }

            return;
        }

        // The handler is behind: stop reading (the peer's window closes) until it catches up.
        _inputFlushPending = true;
        _input.OnPendingFlushCompleted(flush, Rare.OnInputFlushed ??= OnInputFlushed);
    }

    private void AccountReceived(long received)
    {
        if (received == 0)
        {
            return;
        }

        _worker.Counters.BytesReceived += received;
        _receivedTotal += received;
        Friends.FriendCredit.OnReceived(_fd, _receivedTotal, received);
        _lastActivityMs = _worker.NowMs;
        if (!_localityMeasured)
        {
            MeasureLocality();
        }
    }

    /// <summary>Once per connection, after its first bytes: did the kernel process them on this worker's CPU?</summary>
    private void MeasureLocality()
    {
        _localityMeasured = true;
        if (IsLocalSocket)
        {
            return; // AF_UNIX: no softirq, no CPU to compare; IncomingCpu stays -1
        }

        _incomingCpu = SocketCalls.GetInt(_fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_INCOMING_CPU);
        if (_isOutbound)
        {
            if (_incomingCpu == _worker.Cpu)
            {
                _worker.Counters.ActiveLocal++;
            }
            else
            {
                _worker.Counters.ActiveRemote++;
            }

            return;
        }

        if (_incomingCpu == _worker.Cpu)
        {
            _worker.Counters.PassiveLocal++;
        }
        else
        {
            _worker.Counters.PassiveRemote++;
        }
    }

    private void OnInputFlushed()
    {
        _inputFlushPending = false;
        FlushResult result;
        try
        {
            result = _input.TakePendingFlush().GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            result = new FlushResult(isCanceled: false, isCompleted: true);
        }

        if (_closed)
        {
            TryRelease();
            return;
        }

        OnInputFlushCompleted(result);
        if (!_receiveEnded)
        {
            // Data that arrived while paused raised no new edge: read now.
            Receive();
        }
    }

    private void OnInputFlushCompleted(FlushResult result)
    {
        if (result.IsCompleted)
        {
            // The handler completed its input: nothing more will be read from this socket.
            EndReceive(null);
        }
    }

    private void EndReceive(Exception? error)
    {
        if (_receiveEnded)
        {
            return;
        }

        _receiveEnded = true;
        _input.Writer.Complete(error);
        if (_rare?.InputEndedSource is { } inputEnded)
        {
            _worker.Post(s_cancelClosed, inputEnded);
        }

        CloseIfDone();
    }
}
