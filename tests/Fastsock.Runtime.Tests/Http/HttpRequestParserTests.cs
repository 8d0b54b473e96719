using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http;

namespace Fastsock.Tests.Http;

[SupportedOSPlatform("linux")]
public sealed class HttpRequestParserTests
{
    private const string Plaintext = "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nAccept: text/plain\r\nConnection: keep-alive\r\n\r\n";

    [Fact]
    public void Simple_get_yields_method_target_version_and_consumes_the_whole_head()
    {
        ParsedRequest r = ParsedRequest.Parse(Plaintext);

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(RequestMethod.Get, r.Method);
        Assert.Equal("GET", r.MethodBytes);
        Assert.Equal("/plaintext", r.Target);
        Assert.Equal("/plaintext", r.Path);
        Assert.Equal("", r.Query);
        Assert.Equal(HttpVersion.Http11, r.Version);
        Assert.Equal(3, r.HeaderCount);
        Assert.Equal(Plaintext.Length, r.Consumed);
        Assert.Equal(-1, r.ContentLength);
        Assert.False(r.IsChunked);
        Assert.True(r.HasHost);
        Assert.True(r.KeepAlive);
    }

    [Fact]
    public void Query_is_split_from_the_path_at_the_first_question_mark()
    {
        ParsedRequest r = ParsedRequest.Parse("GET /search?q=a?b&x=1 HTTP/1.1\r\nHost: h\r\n\r\n");

        Assert.Equal("/search?q=a?b&x=1", r.Target);
        Assert.Equal("/search", r.Path);
        Assert.Equal("q=a?b&x=1", r.Query);
    }

    [Fact]
    public void Trailing_question_mark_is_reported_as_an_empty_query()
    {
        HttpRequestParser parser = new();
        ReadOnlySequence<byte> input = Sequences.Contiguous("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, parser.TryParse(input, new byte[parser.Limits.MaxHeadLength], out HttpRequestHead head));
        Assert.True(head.HasQuery);
        Assert.True(head.Path.SequenceEqual("/a"u8));
        Assert.True(head.Query.IsEmpty);
    }

    [Fact]
    public void Header_fields_reach_the_sink_in_order_with_optional_whitespace_trimmed()
    {
        ParsedRequest r = ParsedRequest.Parse("GET / HTTP/1.1\r\nHost:h\r\nX-A: \t one two \t\r\nX-Empty:\r\nX-B:  3\r\n\r\n");

        Assert.Equal("Host=h|X-A=one two|X-Empty=|X-B=3|", r.Headers);
    }

    [Fact]
    public void Field_value_with_inner_tab_and_obs_text_is_accepted()
    {
        ParsedRequest r = ParsedRequest.Parse("GET / HTTP/1.1\r\nHost: h\r\nX-T: a\tb\u00e9\u00ff\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal("Host=h|X-T=a\tb\u00e9\u00ff|", r.Headers);
    }

    [Fact]
    public void Hundred_header_fields_are_all_delivered()
    {
        string fields = string.Concat(Enumerable.Range(0, 99).Select(i => $"X-Field-{i}: value {i}\r\n"));
        ParsedRequest r = ParsedRequest.Parse($"GET / HTTP/1.1\r\nHost: h\r\n{fields}\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(100, r.HeaderCount);
        Assert.Contains("X-Field-98=value 98|", r.Headers, StringComparison.Ordinal);
    }

    [Fact]
    public void Pipelined_requests_are_parsed_one_head_per_call()
    {
        string second = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
        string third = "DELETE /c?x HTTP/1.1\r\nHost: h\r\n\r\n";
        ReadOnlySequence<byte> input = Sequences.Contiguous(Plaintext + second + third);
        string[] targets = new string[3];
        long[] lengths = new long[3];

        for (int i = 0; i < 3; i++)
        {
            ParsedRequest r = ParsedRequest.Parse(input);
            Assert.Equal(HttpParseStatus.Complete, r.Status);
            targets[i] = r.Target;
            lengths[i] = r.Consumed;
            input = input.Slice(r.Consumed);
        }

        Assert.Equal(["/plaintext", "/b", "/c?x"], targets);
        Assert.Equal([Plaintext.Length, second.Length, third.Length], lengths);
        Assert.True(input.IsEmpty);
    }

    [Fact]
    public void Head_followed_by_its_body_consumes_only_the_head()
    {
        string head = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
        ParsedRequest r = ParsedRequest.Parse(head + "hello world");

        Assert.Equal(head.Length, r.Consumed);
        Assert.Equal(11, r.ContentLength);
        Assert.Equal(RequestMethod.Post, r.Method);
    }

    [Theory]
    [InlineData("GET", RequestMethod.Get)]
    [InlineData("HEAD", RequestMethod.Head)]
    [InlineData("POST", RequestMethod.Post)]
    [InlineData("PUT", RequestMethod.Put)]
    [InlineData("DELETE", RequestMethod.Delete)]
    [InlineData("OPTIONS", RequestMethod.Options)]
    [InlineData("PATCH", RequestMethod.Patch)]
    [InlineData("TRACE", RequestMethod.Trace)]
    [InlineData("PROPFIND", RequestMethod.Custom)]
    [InlineData("get", RequestMethod.Custom)]
    [InlineData("GETS", RequestMethod.Custom)]
    public void Method_token_maps_to_the_enum_case_sensitively(string method, RequestMethod expected)
    {
        ParsedRequest r = ParsedRequest.Parse($"{method} /x HTTP/1.1\r\nHost: h\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(expected, r.Method);
        Assert.Equal(method, r.MethodBytes);
    }

    [Theory]
    [InlineData("CONNECT example.com:443 HTTP/1.1", RequestMethod.Connect, "example.com:443")]
    [InlineData("OPTIONS * HTTP/1.1", RequestMethod.Options, "*")]
    [InlineData("GET http://example.com/a?b HTTP/1.1", RequestMethod.Get, "http://example.com/a?b")]
    public void Authority_asterisk_and_absolute_forms_are_accepted_with_their_methods(string requestLine, RequestMethod method, string target)
    {
        ParsedRequest r = ParsedRequest.Parse($"{requestLine}\r\nHost: example.com\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(method, r.Method);
        Assert.Equal(target, r.Target);
    }

    [Fact]
    public void Empty_lines_before_the_request_line_are_skipped_and_counted_as_consumed()
    {
        ParsedRequest r = ParsedRequest.Parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal("/", r.Target);
        Assert.Equal(4 + "GET / HTTP/1.1\r\nHost: h\r\n\r\n".Length, r.Consumed);
    }

    [Fact]
    public void Http10_request_without_host_is_accepted()
    {
        ParsedRequest r = ParsedRequest.Parse("GET / HTTP/1.0\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(HttpVersion.Http10, r.Version);
        Assert.False(r.HasHost);
        Assert.Equal(0, r.HeaderCount);
    }

    [Fact]
    public void Every_strict_prefix_of_a_request_needs_more_data_and_feeds_the_sink_nothing()
    {
        for (int length = 0; length < Plaintext.Length; length++)
        {
            ParsedRequest r = ParsedRequest.Parse(Plaintext[..length]);

            Assert.Equal(HttpParseStatus.NeedMoreData, r.Status);
            Assert.Equal("", r.Headers);
        }
    }

    [Fact]
    public void Scratch_smaller_than_the_longest_head_is_refused_with_a_clear_message()
    {
        HttpRequestParser parser = new();

        ArgumentException e = Assert.Throws<ArgumentException>(
            () => parser.TryParse(Sequences.Contiguous(Plaintext), new byte[100], out _));
        Assert.Contains("MaxHeadLength", e.Message, StringComparison.Ordinal);
    }
}
