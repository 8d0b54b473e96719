namespace Fastsock.Http;

/// <summary>The HTTP versions the parser accepts; any other version is answered with 505.</summary>
public enum HttpVersion : byte
{
    /// <summary>HTTP/1.0: no keep-alive unless the request asks for it, no chunked framing.</summary>
    Http10,
    /// <summary>HTTP/1.1: keep-alive unless <c>Connection: close</c>.</summary>
    Http11,
}
