namespace Fastsock.Http;

/// <summary>Outcome of one parse attempt.</summary>
public enum HttpParseStatus : byte
{
    /// <summary>The head is not complete yet; nothing was consumed. Read more and parse again from the same start.</summary>
    NeedMoreData,

    /// <summary>A whole head was parsed; the result says where it ends.</summary>
    Complete,

    /// <summary>The input is not a valid request; answer with the error's status and close the connection.</summary>
    Error,
}
