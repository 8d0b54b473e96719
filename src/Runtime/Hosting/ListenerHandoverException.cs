namespace Fastsock.Hosting;

/// <summary>
/// A hand-over of listening sockets that cannot happen: nothing offers them at the path, or the running server's set
/// differs from this one's (endpoints, worker count, steering). The message is one line saying what and what to do;
/// the running server, if any, keeps serving.
/// </summary>
public sealed class ListenerHandoverException : InvalidOperationException
{
    /// <summary>A hand-over that cannot happen, saying why in <paramref name="message"/> (one line).</summary>
    /// <param name="message">What failed, with the value, and what to do.</param>
    public ListenerHandoverException(string message)
        : base(message)
    {
    }

    /// <summary>A hand-over that cannot happen, because of <paramref name="innerException"/>.</summary>
    /// <param name="message">What failed, with the value, and what to do.</param>
    /// <param name="innerException">The failure underneath (a socket call, a timeout).</param>
    public ListenerHandoverException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A hand-over that cannot happen, with the default message.</summary>
    public ListenerHandoverException()
    {
    }
}
