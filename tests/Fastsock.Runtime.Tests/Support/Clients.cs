using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;

namespace Fastsock.Tests.Support;

/// <summary>Client-side helpers: pinned client threads, exact reads, and bounded waits so no test hangs.</summary>
internal static class Clients
{
    /// <summary>The longest any single wait in a test may take; generous because the machine is shared.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How early a runtime timeout may fire against a test's <see cref="System.Diagnostics.Stopwatch"/> started before
    /// it: workers read <see cref="Environment.TickCount64"/> (CLOCK_MONOTONIC_COARSE, a jiffy of up to 4 ms) once per
    /// loop turn. Lower bounds are the timeout minus this; upper bounds are generous, the machine is shared.
    /// </summary>
    public const int CoarseClockSlackMs = 10;

    /// <summary>
    /// Runs <paramref name="body"/> on a new thread pinned to <paramref name="cpu"/>, so the SYNs and data it sends
    /// are processed by the kernel on that CPU (loopback delivers on the sending CPU).
    /// </summary>
    public static Task<T> RunPinnedAsync<T>(int cpu, Func<T> body)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                CpuAffinity.PinCurrentThread(cpu);
                done.SetResult(body());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = $"test-client-cpu{cpu}",
        };
        thread.Start();
        return done.Task.WaitAsync(Timeout);
    }

    /// <summary>A blocking client socket whose every send and receive gives up after <see cref="Timeout"/>.</summary>
    public static Socket ConnectBlocking(EndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = (int)Timeout.TotalMilliseconds,
            SendTimeout = (int)Timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Receives exactly <paramref name="buffer"/>.Length bytes (blocking); fails on an early EOF.</summary>
    public static void ReceiveExactly(Socket socket, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = socket.Receive(buffer[done..]);
            if (n == 0)
            {
                throw new IOException($"EOF after {done} of {buffer.Length} bytes.");
            }

            done += n;
        }
    }

    public static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        int done = 0;
        while (done < count)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(done)).AsTask().WaitAsync(Timeout);
            if (n == 0)
            {
                throw new IOException($"EOF after {done} of {count} bytes.");
            }

            done += n;
        }

        return buffer;
    }

    /// <summary>Reads until the peer's FIN; returns everything read.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Timeout)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }

    /// <summary>Reads until the connection ends; true when it ended with a reset rather than a FIN.</summary>
    public static async Task<(long Bytes, bool Reset)> ReadUntilClosedAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Timeout)) > 0)
            {
                total += n;
            }

            return (total, false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return (total, true);
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> on a new connection and reads until the server closes it: the response head,
    /// the body's length, and whether it ended with a reset. <paramref name="bodyStarted"/> is completed once the head
    /// and <paramref name="bodyStartedAfter"/> bytes of the body are in.
    /// </summary>
    public static async Task<(string Head, int Body, bool Reset)> GetUntilCloseAsync(
        EndPoint server, string request, TaskCompletionSource? bodyStarted = null, int bodyStartedAfter = 0)
    {
        using var client = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server).WaitAsync(Timeout);
        await client.SendAsync(System.Text.Encoding.ASCII.GetBytes(request), SocketFlags.None).WaitAsync(Timeout);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        bool reset = false;
        try
        {
            int n;
            while ((n = await client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Timeout)) > 0)
            {
                received.Write(buffer, 0, n);
                if (bodyStarted is not null && received.GetBuffer().AsSpan(0, (int)received.Length).IndexOf("\r\n\r\n"u8) is int end && end >= 0
                    && received.Length >= end + 4 + bodyStartedAfter)
                {
                    bodyStarted.TrySetResult();
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset)
        {
            reset = true;
        }

        byte[] all = received.ToArray();
        int headEnd = all.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(headEnd >= 0, $"no response head in {all.Length} bytes");
        return (System.Text.Encoding.Latin1.GetString(all, 0, headEnd + 4), all.Length - headEnd - 4, reset);
    }

    /// <summary>One echo round trip of <paramref name="message"/> on an open connection.</summary>
    public static async Task<byte[]> RoundTripAsync(Socket socket, byte[] message)
    {
        await socket.SendAsync(message.AsMemory()).AsTask().WaitAsync(Timeout);
        return await ReceiveExactlyAsync(socket, message.Length);
    }
}
