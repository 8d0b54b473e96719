namespace Fastsock.Http;

/// <summary>Maps method tokens to <see cref="RequestMethod"/>; case-sensitive as RFC 9110 §9.1 says.</summary>
internal static class RequestMethods
{
    public static RequestMethod Lookup(ReadOnlySpan<byte> method) => method.Length switch
    {
        3 when method.SequenceEqual("GET"u8) => RequestMethod.Get,
        3 when method.SequenceEqual("PUT"u8) => RequestMethod.Put,
        4 when method.SequenceEqual("POST"u8) => RequestMethod.Post,
        4 when method.SequenceEqual("HEAD"u8) => RequestMethod.Head,
        5 when method.SequenceEqual("PATCH"u8) => RequestMethod.Patch,
        5 when method.SequenceEqual("TRACE"u8) => RequestMethod.Trace,
        6 when method.SequenceEqual("DELETE"u8) => RequestMethod.Delete,
        7 when method.SequenceEqual("OPTIONS"u8) => RequestMethod.Options,
        7 when method.SequenceEqual("CONNECT"u8) => RequestMethod.Connect,
        _ => RequestMethod.Custom,
    };
}
