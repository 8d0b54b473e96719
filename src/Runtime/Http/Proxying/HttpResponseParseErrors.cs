namespace Fastsock.Http.Proxying;

/// <summary>Rejections of a backend's response, all answered to the client with 502 Bad Gateway.</summary>
internal static class HttpResponseParseErrors
{
    // Status line.
    public static readonly HttpParseError InvalidStatusLine = new(502, "Invalid status line");
    public static readonly HttpParseError InvalidVersion = new(502, "Response version is not HTTP/1.0 or HTTP/1.1");
    public static readonly HttpParseError InvalidStatusCode = new(502, "Status code is not three digits in 100-599");
    public static readonly HttpParseError InvalidReasonPhrase = new(502, "Invalid reason phrase");
    public static readonly HttpParseError StatusLineTooLong = new(502, "Status line too long");

    // Field lines.
    public static readonly HttpParseError BareLineBreak = new(502, "Response line not terminated by CRLF");
    public static readonly HttpParseError ObsoleteLineFolding = new(502, "Obsolete line folding in response");
    public static readonly HttpParseError InvalidFieldName = new(502, "Invalid response header field name");
    public static readonly HttpParseError InvalidFieldValue = new(502, "Invalid response header field value");
    public static readonly HttpParseError HeadersTooLarge = new(502, "Response header section too large");
    public static readonly HttpParseError TooManyHeaders = new(502, "Too many response header fields");

    // Framing (response splitting defences).
    public static readonly HttpParseError InvalidContentLength = new(502, "Invalid Content-Length in response");
    public static readonly HttpParseError ConflictingContentLength = new(502, "Conflicting Content-Length values in response");
    public static readonly HttpParseError ContentLengthAndTransferEncoding = new(502, "Both Content-Length and Transfer-Encoding in response");
    public static readonly HttpParseError InvalidTransferEncoding = new(502, "Empty or repeated chunked Transfer-Encoding in response");
    public static readonly HttpParseError TransferEncodingInHttp10 = new(502, "Transfer-Encoding in an HTTP/1.0 response");

    // Connection options collected by ForwardedFieldLines.
    public static readonly HttpParseError TooManyConnectionOptions = new(502, "Too many Connection options in response");
    public static readonly HttpParseError InvalidConnectionOption = new(502, "Invalid Connection option in response");
    public static readonly HttpParseError TooManyConnectionOptionsInRequest = new(400, "Too many Connection options");
    public static readonly HttpParseError InvalidConnectionOptionInRequest = new(400, "Invalid Connection option");

    // Absolute-form request targets, turned into origin-form by HttpRequestHeadForwarder.
    public static readonly HttpParseError UnsupportedTargetScheme = new(400, "Absolute-form target whose scheme is not http or https");
    public static readonly HttpParseError InvalidTargetAuthority = new(400, "Absolute-form target with an empty authority, userinfo or a fragment");
}
