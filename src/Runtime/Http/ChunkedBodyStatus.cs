namespace Fastsock.Http;

/// <summary>Outcome of one <see cref="ChunkedBodyDecoder.Decode"/> call.</summary>
internal enum ChunkedBodyStatus : byte
{
    /// <summary>All input was consumed and the body is not finished; read more and call again with the rest.</summary>
    NeedMoreData,

    /// <summary>A range of body bytes was found; use it and call again with the input after it.</summary>
    Data,

    /// <summary>The last chunk and the trailers have been consumed; what follows is the next request.</summary>
    Complete,

    /// <summary>The body is malformed; see <see cref="ChunkedBodyDecoder.Error"/>. Close the connection.</summary>
    Error,
}
