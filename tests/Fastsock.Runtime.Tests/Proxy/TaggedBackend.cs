using Fastsock.Tests.Samples;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A keep-alive HTTP backend on raw sockets that answers every request with its own tag as the body, so a client
/// can count which server answered. <c>GET /slow</c> is held until <see cref="ReleaseSlow"/>; the backend counts
/// requests and the connections the proxy closed.
/// </summary>
internal sealed class TaggedBackend : IAsyncDisposable
{
    private readonly RawBackend _raw;
    private readonly TaskCompletionSource _slowArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _releaseSlow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _requests;
    private int _closedByProxy;

    public TaggedBackend(string tag)
    {
        Tag = tag;
        _raw = new RawBackend(async conversation =>
        {
            try
            {
                while (true)
                {
                    var head = await conversation.ReadHeadAsync();
                    Interlocked.Increment(ref _requests);
                    if (head.StartsWith("GET /slow ", StringComparison.Ordinal))
                    {
                        _slowArrived.TrySetResult();
                        await _releaseSlow.Task;
                    }

                    await conversation.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {tag.Length}\r\n\r\n{tag}");
                }
            }
            catch (EndOfStreamException)
            {
                Interlocked.Increment(ref _closedByProxy);
                throw;
            }
        });
    }

    public string Tag { get; }

    public int Port => _raw.Port;

    /// <summary>Connections the proxy opened to this backend.</summary>
    public int Accepted => _raw.Accepted;

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Connections the proxy closed (the backend read end-of-stream).</summary>
    public int ClosedByProxy => Volatile.Read(ref _closedByProxy);

    /// <summary>Completes when a <c>GET /slow</c> has reached this backend.</summary>
    public Task SlowArrived => _slowArrived.Task;

    public void ReleaseSlow() => _releaseSlow.TrySetResult();

    public ValueTask DisposeAsync()
    {
        ReleaseSlow();
        return _raw.DisposeAsync();
    }

    /// <summary>The tag of the server that answered <paramref name="path"/> (the response must be 200).</summary>
    public static async Task<string> TagOfAsync(RawHttpClient client, string path = "/")
    {
        await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        return response.Body;
    }

    /// <summary>How many of <paramref name="requests"/> keep-alive requests each tag answered.</summary>
    public static async Task<Dictionary<string, int>> TallyAsync(RawHttpClient client, int requests)
    {
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < requests; i++)
        {
            var tag = await TagOfAsync(client);
            counts[tag] = counts.GetValueOrDefault(tag) + 1;
        }

        return counts;
    }
}
