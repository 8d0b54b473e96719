namespace Fastsock.Http.Server;

/// <summary>
/// The exchanges of one worker thread: a connection takes one when a request arrives and returns it when it waits for
/// the next, so an exchange (about 140 bytes, plus its head copy once one was needed) is held per request in flight,
/// not per open connection. Thread-static: no lock, nothing shared between cores. The pool keeps what demand returned,
/// up to <see cref="MaxRetained"/>; an exchange returned on another thread joins that thread's pool.
/// </summary>
internal static class HttpExchangePool
{
    internal const int MaxRetained = 4096;

    [ThreadStatic]
    private static HttpExchange?[]? t_free;

    [ThreadStatic]
    private static int t_count;

    public static HttpExchange Rent(HttpServerConnection owner, System.IO.Pipelines.PipeWriter output)
    {
        var free = t_free;
        int count = t_count;
        HttpExchange exchange;
        if (free is not null && count > 0)
        {
            count--;
            exchange = free[count]!;
            free[count] = null;
            t_count = count;
        }
        else
        {
            exchange = new HttpExchange();
        }

        exchange.Attach(owner, output);
        return exchange;
    }

    public static void Return(HttpExchange exchange)
    {
        exchange.Detach();
        var free = t_free ??= new HttpExchange?[16];
        int count = t_count;
        if (count == free.Length)
        {
            if (count >= MaxRetained)
            {
                return; // beyond the peak worth keeping: left to the GC
            }

            Array.Resize(ref free, count * 2);
            t_free = free;
        }

        free[count] = exchange;
        t_count = count + 1;
    }
}
