namespace Fastsock.Http.Proxying;

/// <summary>The line-by-line walk over a response head (RFC 9112 §4 and §5).</summary>
internal sealed partial class HttpResponseParser
{
    private HttpParseStatus Parse<TSink>(
        ReadOnlySpan<byte> data, bool complete, RequestMethod requestMethod, scoped ref TSink sink, out HttpResponseHead head)
        where TSink : struct, IHttpFieldLineSink
    {
        head = default;
        int maxLine = _limits.MaxRequestLineLength;
        int lineEnd = data.IndexOf(HttpSyntax.Lf);
        if (lineEnd < 0)
        {
            return data.Length >= maxLine ? Fail(HttpResponseParseErrors.StatusLineTooLong, ref head) : NeedMoreData(complete);
        }

        if (lineEnd + 1 > maxLine)
        {
            return Fail(HttpResponseParseErrors.StatusLineTooLong, ref head);
        }

        if (lineEnd == 0 || data[lineEnd - 1] != HttpSyntax.Cr)
        {
            return Fail(HttpResponseParseErrors.BareLineBreak, ref head);
        }

        HttpParseError? error = ParseStatusLine(data[..(lineEnd - 1)], ref head);
        if (error is not null)
        {
            return Fail(error, ref head);
        }

        HttpResponseFraming framing = default;
        int headerBytes = 0;
        int count = 0;
        int position = lineEnd + 1;
        while (true)
        {
            ReadOnlySpan<byte> rest = data[position..];
            if (rest.IsEmpty || (rest[0] == HttpSyntax.Cr && rest.Length < 2))
            {
                return NeedMoreData(complete);
            }

            if (rest[0] == HttpSyntax.Cr)
            {
                if (rest[1] != HttpSyntax.Lf)
                {
                    return Fail(HttpResponseParseErrors.BareLineBreak, ref head);
                }

                if (headerBytes + 2 > _limits.MaxHeaderBytes)
                {
                    return Fail(HttpResponseParseErrors.HeadersTooLarge, ref head);
                }

                break;
            }

            if (HttpSyntax.IsWhitespace(rest[0]))
            {
                return Fail(HttpResponseParseErrors.ObsoleteLineFolding, ref head);
            }

            int lf = rest.IndexOf(HttpSyntax.Lf);
            if (lf < 0)
            {
                return headerBytes + rest.Length > _limits.MaxHeaderBytes
                    ? Fail(HttpResponseParseErrors.HeadersTooLarge, ref head)
                    : NeedMoreData(complete);
            }

            headerBytes += lf + 1;
            if (headerBytes > _limits.MaxHeaderBytes)
            {
                return Fail(HttpResponseParseErrors.HeadersTooLarge, ref head);
            }

            if (++count > _limits.MaxHeaderCount)
            {
                return Fail(HttpResponseParseErrors.TooManyHeaders, ref head);
            }

            if (lf == 0 || rest[lf - 1] != HttpSyntax.Cr)
            {
                return Fail(HttpResponseParseErrors.BareLineBreak, ref head);
            }

            ReadOnlySpan<byte> line = rest[..(lf - 1)];
            int colon = line.IndexOf((byte)':');
            ReadOnlySpan<byte> name = colon < 0 ? default : line[..colon];
            if (!HttpSyntax.IsToken(name))
            {
                return Fail(HttpResponseParseErrors.InvalidFieldName, ref head);
            }

            HttpSyntax.TrimOws(line, colon + 1, out int valueStart, out int valueEnd);
            ReadOnlySpan<byte> value = line[valueStart..valueEnd];
            if (!HttpSyntax.IsValidFieldValue(value))
            {
                return Fail(HttpResponseParseErrors.InvalidFieldValue, ref head);
            }

            error = framing.OnHeader(name, value);
            if (error is not null)
            {
                return Fail(error, ref head);
            }

            sink.OnFieldLine(line, position, colon, valueStart, value.Length);
            position += lf + 1;
        }

        error = framing.Complete(ref head, requestMethod);
        if (error is not null)
        {
            return Fail(error, ref head);
        }

        head._headerCount = count;
        head._statusLineLength = lineEnd + 1;
        return HttpParseStatus.Complete;
    }

    /// <summary>status-line = HTTP-version SP status-code SP [ reason-phrase ], CRLF already removed.</summary>
    /// <remarks>A missing SP after the code when the reason is empty ("HTTP/1.1 200") is accepted, as most clients do.</remarks>
    private static HttpParseError? ParseStatusLine(ReadOnlySpan<byte> line, ref HttpResponseHead head)
    {
        if (line.Length < 12 || line[8] != HttpSyntax.Space)
        {
            return line.StartsWith("HTTP/1."u8) || line.Length < 8 ? HttpResponseParseErrors.InvalidStatusLine : HttpResponseParseErrors.InvalidVersion;
        }

        ReadOnlySpan<byte> version = line[..8];
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            head._version = HttpVersion.Http11;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            head._version = HttpVersion.Http10;
        }
        else
        {
            return HttpResponseParseErrors.InvalidVersion;
        }

        int code = 0;
        foreach (byte b in line[9..12])
        {
            uint digit = (uint)(b - '0');
            if (digit > 9)
            {
                return HttpResponseParseErrors.InvalidStatusCode;
            }

            code = (code * 10) + (int)digit;
        }

        if (code is < 100 or > 599)
        {
            return HttpResponseParseErrors.InvalidStatusCode;
        }

        ReadOnlySpan<byte> reason = default;
        if (line.Length > 12)
        {
            if (line[12] != HttpSyntax.Space)
            {
                return HttpResponseParseErrors.InvalidStatusCode; // a fourth digit or junk after the code
            }

            reason = line[13..];
            if (!HttpSyntax.IsValidFieldValue(reason))
            {
                return HttpResponseParseErrors.InvalidReasonPhrase;
            }
        }

        head._statusCode = code;
        head._reasonPhrase = reason;
        return null;
    }

    private static HttpParseStatus NeedMoreData(bool complete)
    {
        System.Diagnostics.Debug.Assert(!complete, "A complete head ended early.");
        return HttpParseStatus.NeedMoreData;
    }

    private static HttpParseStatus Fail(HttpParseError error, ref HttpResponseHead head)
    {
        head = default;
        head._error = error;
        return HttpParseStatus.Error;
    }
}
