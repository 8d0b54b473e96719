using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A scripted HTTP backend on raw sockets, for what nginx cannot show: request bodies as received, responses framed
/// by the close, a server that never answers, and the number of connections the proxy opened.
/// </summary>
internal sealed class RawBackend : IAsyncDisposable
{
    private static readonly TimeSpan ScriptsTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly Func<Conversation, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<(Socket Socket, Task Script)> _conversations = [];
    private readonly Task _acceptLoop;
    private int _accepted;

    public RawBackend(Func<Conversation, Task> script)
    {
        _script = script;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>
    /// Completes when every script started so far has finished; faults with the first script that threw something other
    /// than the peer going away (an assertion inside a script, say). Waits at most <paramref name="timeout"/>.
    /// </summary>
    public async Task CompletionAsync(TimeSpan timeout)
    {
        Task[] scripts;
        lock (_gate)
        {
            scripts = [.. _conversations.Select(c => c.Script)];
        }

        try
        {
            await Task.WhenAll(scripts).WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{scripts.Count(s => !s.IsCompleted)} of {scripts.Length} backend scripts were still running after {timeout}");
        }
    }

    /// <summary>
    /// Stops accepting, closes every conversation (a script blocked on a read then ends as the peer going away) and
    /// rethrows what a script threw: a failed assertion in a script fails the test instead of vanishing in a task.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        lock (_gate)
        {
            foreach (var (socket, _) in _conversations)
            {
                socket.Dispose();
            }
        }

        try
        {
            await CompletionAsync(ScriptsTimeout);
        }
        finally
        {
            _stop.Dispose();
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            lock (_gate)
            {
                _conversations.Add((socket, Task.Run(() => ConverseAsync(socket))));
            }
        }
    }

    private async Task ConverseAsync(Socket socket)
    {
        using var conversation = new Conversation(socket);
        try
        {
            await _script(conversation);
        }
        catch (Exception ex) when (IsPeerGone(ex))
        {
            // The proxy closed or reset the connection, or the test is over: what the script was waiting for
            // did not come, and the test asserts on what its client saw.
        }
    }

    private static bool IsPeerGone(Exception ex) =>
        ex is SocketException or EndOfStreamException or ObjectDisposedException or OperationCanceledException;

    /// <summary>One accepted connection, read as Latin-1 text.</summary>
    internal sealed class Conversation(Socket socket) : IDisposable
    {
        private readonly List<byte> _pending = [];

        public Socket Socket => socket;

        /// <summary>The next request head, CRLF CRLF included.</summary>
        public async Task<string> ReadHeadAsync()
        {
            int end;
            while ((end = IndexOf("\r\n\r\n"u8)) < 0)
            {
                await ReceiveMoreAsync();
            }

            return Take(end + 4);
        }

        /// <summary>Exactly <paramref name="count"/> bytes.</summary>
        public async Task<string> ReadAsync(int count)
        {
            while (_pending.Count < count)
            {
                await ReceiveMoreAsync();
            }

            return Take(count);
        }

        /// <summary>A chunked body, decoded (no extensions or trailers expected).</summary>
        public async Task<string> ReadChunkedAsync()
        {
            var body = new StringBuilder();
            while (true)
            {
                int end;
                while ((end = IndexOf("\r\n"u8)) < 0)
                {
                    await ReceiveMoreAsync();
                }

                int size = Convert.ToInt32(Take(end + 2).Trim(), 16);
                if (size == 0)
                {
                    await ReadAsync(2);
                    return body.ToString();
                }

                body.Append(await ReadAsync(size));
                await ReadAsync(2);
            }
        }

        public Task SendAsync(string text) => socket.SendAsync(Encoding.Latin1.GetBytes(text), SocketFlags.None);

        public void Dispose() => socket.Dispose();

        private async Task ReceiveMoreAsync()
        {
            var buffer = new byte[16 * 1024];
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            _pending.AddRange(buffer.AsSpan(0, n));
        }

        private int IndexOf(ReadOnlySpan<byte> value) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending).IndexOf(value);

        private string Take(int count)
        {
            var text = Encoding.Latin1.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending)[..count]);
            _pending.RemoveRange(0, count);
            return text;
        }
    }
}
