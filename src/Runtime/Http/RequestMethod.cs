namespace Fastsock.Http;

/// <summary>Request methods the parser recognises; anything else that is a valid token is <see cref="Custom"/>.</summary>
/// <remarks>
/// Methods are case-sensitive (RFC 9110 §9.1): "get" is <see cref="Custom"/>, not <see cref="Get"/>.
/// The name clashes with <c>System.Net.Http.RequestMethod</c> under implicit usings; alias it where both are in scope.
/// </remarks>
public enum RequestMethod : byte
{
    /// <summary>GET.</summary>
    Get,
    /// <summary>HEAD: answered like GET, without the body.</summary>
    Head,
    /// <summary>POST.</summary>
    Post,
    /// <summary>PUT.</summary>
    Put,
    /// <summary>DELETE.</summary>
    Delete,
    /// <summary>OPTIONS.</summary>
    Options,
    /// <summary>PATCH.</summary>
    Patch,
    /// <summary>TRACE.</summary>
    Trace,
    /// <summary>CONNECT: the target is an authority (host:port), not a path.</summary>
    Connect,
    /// <summary>Any other method token; read its bytes where the API offers them (e.g. <c>HttpExchange.MethodBytes</c>).</summary>
    Custom,
}
