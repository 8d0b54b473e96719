namespace Fastsock.Http.Proxying;

/// <summary>How the body of a backend response is delimited (RFC 9112 §6.3).</summary>
internal enum HttpBodyFraming : byte
{
    /// <summary>No body: 1xx, 204, 304, a response to HEAD, or a 2xx to CONNECT.</summary>
    None,

    /// <summary>Exactly <see cref="HttpResponseHead.ContentLength"/> bytes (possibly 0).</summary>
    ContentLength,

    /// <summary>The chunked transfer coding; decode it with <see cref="ChunkedBodyDecoder"/>.</summary>
    Chunked,

    /// <summary>Everything until the backend closes the connection, which then cannot be reused.</summary>
    CloseDelimited,
}
