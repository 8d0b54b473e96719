namespace Fastsock.Hosting;

/// <summary>
/// A hand-over of listening sockets that cannot happen: nothing offers them at the path, or the running server's set
/// differs from this one's (endpoints, worker count, steering). The message is one line saying what and what to do;
/// the running server, if any, keeps serving.
/// </summary>
public sealed class ListenerHandoverException : InvalidOperationException
{
    public ListenerHandoverException(string message)
        : base(message)
    {
    }

    public ListenerHandoverException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ListenerHandoverException()
    {
    }
}
