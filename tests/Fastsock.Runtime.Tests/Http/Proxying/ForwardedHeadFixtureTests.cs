using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http.Proxying;

namespace Fastsock.Tests.Http.Proxying;

[SupportedOSPlatform("linux")]
/// <summary>
/// Byte-for-byte fixtures of the forwarded head: the bytes a client sends and the bytes the backend must receive, for
/// every rule of this folder's README (hop-by-hop fields, Connection-listed fields, X-Forwarded-*).
/// </summary>
public sealed class ForwardedHeadFixtureTests
{
    [Fact]
    public void Request_is_forwarded_with_hop_by_hop_fields_removed_and_forwarding_fields_added()
    {
        string forwarded = Forwarding.Request(
            "POST /api?x=1 HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, Upgrade\r\nKeep-Alive: timeout=5\r\n"
            + "Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-Sum\r\nUpgrade: websocket\r\nProxy-Authorization: Basic eA==\r\n"
            + "Accept: */*\r\nContent-Length: 5\r\nx-custom: Keep Me \r\n\r\nhello");

        Assert.Equal(
            "POST /api?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nx-custom: Keep Me\r\n"
            + "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nContent-Length: 5\r\n\r\n",
            forwarded);
    }

    [Fact]
    public void Chunked_request_is_forwarded_with_the_framing_the_caller_writes()
    {
        string forwarded = Forwarding.Request("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\nX-Forwarded-Proto: https\r\n\r\n");

        Assert.Equal("PUT / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 192.0.2.1\r\nTransfer-Encoding: chunked\r\n\r\n", forwarded);
    }

    [Theory]
    [InlineData("Connection: X-Secret\r\nX-Secret: 1\r\n")]
    [InlineData("X-Secret: 1\r\nConnection: X-Secret\r\n")]
    [InlineData("x-secret: 1\r\nConnection: close, X-SECRET\r\nX-Secret: 2\r\n")]
    [InlineData("X-Secret: 1\r\nConnection: ,, x-other\r\nConnection: X-Secret\r\nX-Other: 3\r\n")]
    public void Fields_named_in_connection_are_removed_wherever_they_appear(string fields)
    {
        string forwarded = Forwarding.Request($"GET / HTTP/1.1\r\nHost: h\r\n{fields}Via: 1.1 a\r\n\r\n");

        Assert.Equal("GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 a\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n\r\n", forwarded);
    }

    [Theory]
    [InlineData("X-Forwarded-For: 203.0.113.9\r\n", "X-Forwarded-For: 203.0.113.9, 192.0.2.1\r\n")]
    [InlineData("x-forwarded-for: 203.0.113.9, 198.51.100.1\r\n", "x-forwarded-for: 203.0.113.9, 198.51.100.1, 192.0.2.1\r\n")]
    [InlineData("X-Forwarded-For: a\r\nAccept: b\r\nX-Forwarded-For: c\r\n", "X-Forwarded-For: a\r\nAccept: b\r\nX-Forwarded-For: c, 192.0.2.1\r\n")]
    [InlineData("X-Forwarded-For:\r\n", "X-Forwarded-For: 192.0.2.1\r\n")]
    [InlineData("X-Forwarded-For: spoofed\r\nConnection: X-Forwarded-For\r\n", "X-Forwarded-For: 192.0.2.1\r\n")]
    public void Client_is_appended_to_the_last_x_forwarded_for(string fields, string expected)
    {
        string forwarded = Forwarding.Request($"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: http\r\n{fields}\r\n");

        Assert.Equal($"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: http\r\n{expected}\r\n", forwarded);
    }

    [Fact]
    public void X_forwarded_proto_listed_in_connection_is_replaced()
    {
        string forwarded = Forwarding.Request("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\nConnection: x-forwarded-proto\r\n\r\n");

        Assert.Equal("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n\r\n", forwarded);
    }

    [Theory]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3")]
    [InlineData("::1", "::1")]
    public void Ipv6_clients_are_written_canonically_and_mapped_ipv4_as_ipv4(string client, string expected)
    {
        string forwarded = Forwarding.Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n", client);

        Assert.Contains($"\r\nX-Forwarded-For: {expected}\r\n", forwarded, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_address_from_a_proxy_header_is_taken_as_raw_bytes()
    {
        string forwarded = Forwarding.RequestInOnePass(Sequences.Contiguous("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), forwarder: new HttpRequestHeadForwarder([198, 51, 100, 7]));

        Assert.Equal("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: http\r\n\r\n", forwarded);
        Assert.Throws<ArgumentException>(() => new HttpRequestHeadForwarder([1, 2, 3]));
    }

    [Fact]
    public void Sixteen_connection_options_are_accepted_and_a_seventeenth_is_a_400()
    {
        string sixteen = string.Join(", ", Enumerable.Range(1, 16).Select(i => $"x-option-{i}"));
        string withDuplicates = sixteen + ", X-OPTION-1, close, keep-alive, upgrade, te";

        Assert.DoesNotContain("error", Forwarding.Request($"GET / HTTP/1.1\r\nHost: h\r\nConnection: {withDuplicates}\r\n\r\n"), StringComparison.Ordinal);
        Assert.Equal(
            "error 400 Too many Connection options",
            Forwarding.Request($"GET / HTTP/1.1\r\nHost: h\r\nConnection: {sixteen}\r\nConnection: x-option-17\r\n\r\n"));
    }

    [Fact]
    public void Connection_options_longer_than_the_bounded_list_are_a_400()
    {
        string longNames = $"{new string('a', 200)}, {new string('b', 60)}";

        Assert.Equal("error 400 Too many Connection options", Forwarding.Request($"GET / HTTP/1.1\r\nHost: h\r\nConnection: {longNames}\r\n\r\n"));
    }

    [Fact]
    public void Connection_option_that_is_not_a_token_is_a_400()
    {
        Assert.Equal("error 400 Invalid Connection option", Forwarding.Request("GET / HTTP/1.1\r\nHost: h\r\nConnection: x y\r\n\r\n"));
    }

    [Fact]
    public void Response_fields_lose_hop_by_hop_fields_and_gain_nothing()
    {
        string fields = Forwarding.ResponseFields(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Backend\r\nX-Backend: b1\r\nKeep-Alive: timeout=5\r\n"
            + "Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\nX-Forwarded-For: kept\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok");

        Assert.Equal("Content-Type: text/plain\r\nX-Forwarded-For: kept\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n", fields);
    }

    [Fact]
    public void Too_many_connection_options_in_a_response_are_a_502()
    {
        string seventeen = string.Join(",", Enumerable.Range(1, 17).Select(i => $"o{i}"));

        Assert.Equal("error 502 Too many Connection options in response", Forwarding.ResponseFields($"HTTP/1.1 200 OK\r\nConnection: {seventeen}\r\n\r\n"));
    }

    [Fact]
    public void Forwarding_a_request_split_at_every_byte_boundary_writes_the_same_bytes()
    {
        byte[] bytes = Sequences.Bytes(
            "GET /a HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nConnection: x-a\r\nX-Forwarded-For: 1.1.1.1\r\nTE: trailers\r\nAccept: */*\r\n\r\n");
        string expected = Forwarding.Request(new ReadOnlySequence<byte>(bytes));
        Assert.Contains("X-Forwarded-For: 1.1.1.1, 192.0.2.1\r\nAccept", expected, StringComparison.Ordinal);

        for (int cut = 1; cut < bytes.Length; cut++)
        {
            Assert.Equal(expected, Forwarding.Request(Sequences.Split(bytes, cut)));
        }
    }
}
