namespace Fastsock.Transport;

/// <summary>Per-connection transport settings.</summary>
public sealed class ConnectionOptions
{
    /// <summary>Received bytes buffered before the transport stops reading (backpressure on the peer). Default 1 MiB.</summary>
    public int MaxInputBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Unsent bytes buffered before the handler's FlushAsync waits. Default 64 KiB.</summary>
    public int MaxOutputBufferSize { get; set; } = 64 * 1024;

    /// <summary>Set TCP_NODELAY on every connection (small responses go out at once). Default true.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// A connection with no bytes received or sent for this long is closed: first gracefully (its input ends),
    /// then, if the handler has not finished after the same time again, aborted. A fraction of a millisecond counts as a
    /// whole one (never closed early). <see cref="Timeout.InfiniteTimeSpan"/>: idle connections are never closed. Zero
    /// and other negative values are rejected at start. Default 2 minutes.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// System.IO.Pipelines' thread-safe <c>Pipe</c> instead of worker pipes, for connections whose pipes other code may
    /// touch from other threads (Kestrel's heartbeat, app code after ConfigureAwait(false)). Still scheduled on the worker.
    /// </summary>
    internal bool ThreadSafePipes { get; set; }

    internal void Validate()
    {
        if (MaxInputBufferSize < 4096)
        {
            throw new ArgumentException($"MaxInputBufferSize {MaxInputBufferSize} is too small; use at least 4096 bytes.");
        }

        if (MaxOutputBufferSize < 4096)
        {
            throw new ArgumentException($"MaxOutputBufferSize {MaxOutputBufferSize} is too small; use at least 4096 bytes.");
        }

        if (IdleTimeout <= TimeSpan.Zero && IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException(
                $"Connection.IdleTimeout {IdleTimeout} is not positive; give a positive time (e.g. 00:02:00), or Timeout.InfiniteTimeSpan to never close idle connections.");
        }
    }
}
