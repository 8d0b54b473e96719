namespace Fastsock.Http;

/// <summary>The line-by-line walk over a head (RFC 9112 §3 and §5).</summary>
internal sealed partial class HttpRequestParser
{
    /// <summary>
    /// Parses <paramref name="data"/> from <paramref name="start"/>. When <paramref name="complete"/> is false the data
    /// is a prefix of a head, and running out of it means <see cref="HttpParseStatus.NeedMoreData"/>.
    /// </summary>
    private HttpParseStatus Parse<TSink>(ReadOnlySpan<byte> data, int start, bool complete, scoped ref TSink sink, out HttpRequestHead head)
        where TSink : struct, IHttpFieldLineSink
    {
        head = default;
        int maxLine = _limits.MaxRequestLineLength;

        int lineEnd = data[start..].IndexOf(HttpSyntax.Lf);
        if (lineEnd < 0)
        {
            return data.Length >= maxLine ? Fail(HttpParseErrors.RequestLineTooLong, ref head) : NeedMoreData(complete);
        }

        lineEnd += start;
        if (lineEnd + 1 > maxLine)
        {
            return Fail(HttpParseErrors.RequestLineTooLong, ref head);
        }

        if (lineEnd == start || data[lineEnd - 1] != HttpSyntax.Cr)
        {
            return Fail(HttpParseErrors.BareLineBreak, ref head);
        }

        HttpParseError? error = ParseRequestLine(data[start..(lineEnd - 1)], ref head);
        if (error is not null)
        {
            return Fail(error, ref head);
        }

        HttpFraming framing = default;
        int maxHeaderBytes = _limits.MaxHeaderBytes;
        int maxHeaderCount = _limits.MaxHeaderCount;
        int headerBytes = 0;
        int count = 0;
        int position = lineEnd + 1;
        while (true)
        {
            ReadOnlySpan<byte> rest = data[position..];
            if (rest.IsEmpty)
            {
                return NeedMoreData(complete);
            }

            byte first = rest[0];
            if (first == HttpSyntax.Cr)
            {
                if (rest.Length < 2)
                {
                    return NeedMoreData(complete);
                }

                if (rest[1] != HttpSyntax.Lf)
                {
                    return Fail(HttpParseErrors.BareLineBreak, ref head);
                }

                if (headerBytes + 2 > maxHeaderBytes)
                {
                    return Fail(HttpParseErrors.HeadersTooLarge, ref head);
                }

                break;
            }

            if (HttpSyntax.IsWhitespace(first))
            {
                return Fail(HttpParseErrors.ObsoleteLineFolding, ref head);
            }

            int lf = rest.IndexOf(HttpSyntax.Lf);
            if (lf < 0)
            {
                return headerBytes + rest.Length > maxHeaderBytes
                    ? Fail(HttpParseErrors.HeadersTooLarge, ref head)
                    : NeedMoreData(complete);
            }

            headerBytes += lf + 1;
            if (headerBytes > maxHeaderBytes)
            {
                return Fail(HttpParseErrors.HeadersTooLarge, ref head);
            }

            if (++count > maxHeaderCount)
            {
                return Fail(HttpParseErrors.TooManyHeaders, ref head);
            }

            if (lf == 0 || rest[lf - 1] != HttpSyntax.Cr)
            {
                return Fail(HttpParseErrors.BareLineBreak, ref head);
            }

            ReadOnlySpan<byte> line = rest[..(lf - 1)];
            int colon = line.IndexOf((byte)':');
            ReadOnlySpan<byte> name = colon < 0 ? default : line[..colon];

            // A token excludes whitespace, so "Name : value" fails here as RFC 9112 §5.1 requires.
            if (!HttpSyntax.IsToken(name))
            {
                return Fail(HttpParseErrors.InvalidFieldName, ref head);
            }

            HttpSyntax.TrimOws(line, colon + 1, out int valueStart, out int valueEnd);
            ReadOnlySpan<byte> value = line[valueStart..valueEnd];
            if (!HttpSyntax.IsValidFieldValue(value))
            {
                return Fail(HttpParseErrors.InvalidFieldValue, ref head);
            }

            error = framing.OnHeader(name, value);
            if (error is not null)
            {
                return Fail(error, ref head);
            }

            sink.OnFieldLine(line, position, colon, valueStart, value.Length);
            position += lf + 1;
        }

        error = framing.Complete(ref head);
        if (error is not null)
        {
            return Fail(error, ref head);
        }

        head._headerCount = count;
        head._requestLineOffset = start;
        return HttpParseStatus.Complete;
    }

    /// <summary>request-line = method SP request-target SP HTTP-version, CRLF already removed.</summary>
    private static HttpParseError? ParseRequestLine(ReadOnlySpan<byte> line, ref HttpRequestHead head)
    {
        int space = line.IndexOf(HttpSyntax.Space);
        if (space <= 0)
        {
            return HttpParseErrors.InvalidRequestLine;
        }

        ReadOnlySpan<byte> method = line[..space];
        if (!HttpSyntax.IsToken(method))
        {
            return HttpParseErrors.InvalidMethod;
        }

        ReadOnlySpan<byte> rest = line[(space + 1)..];
        space = rest.IndexOf(HttpSyntax.Space);
        if (space <= 0)
        {
            return HttpParseErrors.InvalidRequestLine;
        }

        ReadOnlySpan<byte> target = rest[..space];
        HttpParseError? error = ParseVersion(rest[(space + 1)..], out head._version);
        if (error is not null)
        {
            return error;
        }

        if (target.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E))
        {
            return HttpParseErrors.InvalidTarget;
        }

        RequestMethod known = RequestMethods.Lookup(method);
        if (!HasValidForm(known, target))
        {
            return HttpParseErrors.InvalidTarget;
        }

        head._method = known;
        head._methodBytes = method;
        head._target = target;
        int query = target.IndexOf((byte)'?');
        head._hasQuery = query >= 0;
        head._pathLength = query >= 0 ? query : target.Length;
        return null;
    }

    private static HttpParseError? ParseVersion(ReadOnlySpan<byte> version, out HttpVersion result)
    {
        result = HttpVersion.Http11;
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            return null;
        }

        result = HttpVersion.Http10;
        if (version.SequenceEqual("HTTP/1.0"u8))
        {
            return null;
        }

        // HTTP-version = "HTTP/" DIGIT "." DIGIT: well-formed but unsupported is 505, malformed is 400.
        bool wellFormed = version.Length == 8 && version.StartsWith("HTTP/"u8)
            && char.IsAsciiDigit((char)version[5]) && version[6] == '.' && char.IsAsciiDigit((char)version[7]);
        return wellFormed ? HttpParseErrors.UnsupportedVersion : HttpParseErrors.InvalidVersion;
    }

    /// <summary>The four request-target forms of RFC 9112 §3.2, each only with the methods that use it.</summary>
    private static bool HasValidForm(RequestMethod method, ReadOnlySpan<byte> target)
    {
        if (method == RequestMethod.Connect)
        {
            return target[0] != '/'; // authority-form: host:port
        }

        if (target[0] == '/')
        {
            return true; // origin-form
        }

        if (target.Length == 1 && target[0] == '*')
        {
            return method == RequestMethod.Options; // asterisk-form
        }

        // absolute-form, as sent to proxies: scheme "://" ...
        return char.IsAsciiLetter((char)target[0]) && target.IndexOf("://"u8) > 0;
    }

    private static HttpParseStatus NeedMoreData(bool complete)
    {
        // A complete head always ends in the empty line; running out of it would be a bug in FindHeadEnd.
        System.Diagnostics.Debug.Assert(!complete, "A complete head ended early.");
        return HttpParseStatus.NeedMoreData;
    }

    private static HttpParseStatus Fail(HttpParseError error, ref HttpRequestHead head)
    {
        head = default;
        head._error = error;
        return HttpParseStatus.Error;
    }
}
