namespace Fastsock.Http;

/// <summary>Request methods the parser recognises; anything else that is a valid token is <see cref="Custom"/>.</summary>
/// <remarks>
/// Methods are case-sensitive (RFC 9110 §9.1): "get" is <see cref="Custom"/>, not <see cref="Get"/>.
/// The name clashes with <c>System.Net.Http.RequestMethod</c> under implicit usings; alias it where both are in scope.
/// </remarks>
public enum RequestMethod : byte
{
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Trace,
    Connect,
    Custom,
}
