namespace Fastsock.Http;

/// <summary>Maps method tokens to <see cref="HttpMethod"/>; case-sensitive as RFC 9110 §9.1 says.</summary>
internal static class HttpMethods
{
    public static HttpMethod Lookup(ReadOnlySpan<byte> method) => method.Length switch
    {
        3 when method.SequenceEqual("GET"u8) => HttpMethod.Get,
        3 when method.SequenceEqual("PUT"u8) => HttpMethod.Put,
        4 when method.SequenceEqual("POST"u8) => HttpMethod.Post,
        4 when method.SequenceEqual("HEAD"u8) => HttpMethod.Head,
        5 when method.SequenceEqual("PATCH"u8) => HttpMethod.Patch,
        5 when method.SequenceEqual("TRACE"u8) => HttpMethod.Trace,
        6 when method.SequenceEqual("DELETE"u8) => HttpMethod.Delete,
        7 when method.SequenceEqual("OPTIONS"u8) => HttpMethod.Options,
        7 when method.SequenceEqual("CONNECT"u8) => HttpMethod.Connect,
        _ => HttpMethod.Custom,
    };
}
