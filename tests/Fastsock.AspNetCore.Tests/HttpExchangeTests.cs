using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.AspNetCore.Tests.Support;
using Fastsock.Locality;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Fastsock.AspNetCore.Tests;

/// <summary>HTTP/1.x exchanges through Kestrel on Fastsock's workers, with real clients.</summary>
public sealed class HttpExchangeTests
{
    private const int EightMiB = 8 * 1024 * 1024;

    public static TheoryData<string> Workers => CoreSets.OneAndTwoWorkers;

    private static void MapEndpoints(WebApplication app)
    {
        app.MapGet("/plaintext", static () => "Hello, World!");
        app.MapGet("/connection", static (HttpContext context) => context.Connection.Id);
        app.MapPost("/echo", static async context =>
        {
            // Read all, then answer: a client that sends its whole body before reading (HttpClient) would otherwise
            // deadlock with a streaming echo once both directions' socket buffers are full, on any transport.
            var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length), context.RequestAborted);
        });
        app.MapGet("/chunked", static async context =>
        {
            // No Content-Length: Kestrel frames the response with chunked encoding.
            var block = new byte[64 * 1024];
            for (int sent = 0; sent < EightMiB; sent += block.Length)
            {
                block.AsSpan().Fill((byte)(sent / block.Length));
                await context.Response.Body.WriteAsync(block, context.RequestAborted);
            }
        });
        app.MapGet("/throws", static string () => throw new InvalidOperationException("the app failed on purpose"));
    }

    [Theory]
    [MemberData(nameof(Workers))]
    public async Task Keep_alive_requests_reuse_one_connection(string cores)
    {
        await using var app = await TestApp.StartAsync(MapEndpoints, CpuSet.Parse(cores));
        using var client = app.Client(maxConnections: 1);
        var ids = new HashSet<string>();
        for (int i = 0; i < 20; i++)
        {
            ids.Add(await client.GetStringAsync("/connection"));
        }

        Assert.Single(ids);
    }

    [Fact]
    public async Task Pipelined_requests_get_their_responses_in_order()
    {
        await using var app = await TestApp.StartAsync(MapEndpoints);
        using var socket = await RawHttp.ConnectAsync(app.EndPoint);
        await RawHttp.SendAsync(
            socket,
            "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecondGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
        var text = await RawHttp.ReadUntilAsync(socket, "Hello, World!", 2);
        Assert.Equal(3, RawHttp.Occurrences(text, "HTTP/1.1 200 OK"));
        int first = text.IndexOf("Hello, World!", StringComparison.Ordinal);
        int second = text.IndexOf("second", StringComparison.Ordinal);
        int third = text.LastIndexOf("Hello, World!", StringComparison.Ordinal);
        Assert.True(first < second && second < third, text);
    }

    [Theory]
    [MemberData(nameof(Workers))]
    public async Task An_eight_MiB_body_with_content_length_is_echoed_intact(string cores)
    {
        await using var app = await TestApp.StartAsync(MapEndpoints, CpuSet.Parse(cores));
        using var client = app.Client();
        var body = RandomNumberGenerator.GetBytes(EightMiB);
        using var response = await client.PostAsync("/echo", new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(EightMiB, response.Content.Headers.ContentLength);
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(await response.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task An_eight_MiB_chunked_request_body_arrives_intact()
    {
        await using var app = await TestApp.StartAsync(MapEndpoints);
        using var client = app.Client();
        var body = RandomNumberGenerator.GetBytes(EightMiB);

        // A stream of unknown length: HttpClient sends it chunked.
        using var content = new StreamContent(new UnknownLengthStream(body));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(await response.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task An_eight_MiB_chunked_response_arrives_intact()
    {
        await using var app = await TestApp.StartAsync(MapEndpoints);
        using var client = app.Client();
        using var response = await client.GetAsync("/chunked");
        Assert.True(response.Headers.TransferEncodingChunked);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(EightMiB, bytes.Length);
        for (int block = 0; block < EightMiB / (64 * 1024); block++)
        {
            Assert.Equal((byte)block, bytes[block * 64 * 1024]);
            Assert.Equal((byte)block, bytes[((block + 1) * 64 * 1024) - 1]);
        }
    }

    [Fact]
    public async Task Connection_close_gets_its_response_then_a_close()
    {
        await using var app = await TestApp.StartAsync(MapEndpoints);
        using var socket = await RawHttp.ConnectAsync(app.EndPoint);
        await RawHttp.SendAsync(socket, "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var text = await RawHttp.ReadToEndAsync(socket);
        Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
        Assert.Contains("Connection: close", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Hello, World!", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_http_1_0_request_is_answered_and_the_connection_closed()
    {
        await using var app = await TestApp.StartAsync(MapEndpoints);
        using var socket = await RawHttp.ConnectAsync(app.EndPoint);
        await RawHttp.SendAsync(socket, "GET /plaintext HTTP/1.0\r\n\r\n");
        var text = await RawHttp.ReadToEndAsync(socket);
        Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
        Assert.EndsWith("Hello, World!", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_that_throws_gets_500_and_the_server_keeps_serving()
    {
        await using var app = await TestApp.StartAsync(MapEndpoints);
        using var client = app.Client(maxConnections: 1);
        using (var failed = await client.GetAsync("/throws"))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
    }

    [Fact]
    public async Task A_client_that_resets_mid_body_aborts_that_request_only()
    {
        var failure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(a =>
        {
            MapEndpoints(a);
            a.MapPost("/slow-upload", async context =>
            {
                try
                {
                    var buffer = new byte[4096];
                    while (await context.Request.Body.ReadAsync(buffer) > 0)
                    {
                        reading.TrySetResult();
                    }

                    failure.TrySetException(new InvalidOperationException("the body ended normally"));
                }
                catch (Exception ex)
                {
                    failure.TrySetResult(ex);
                    throw;
                }
            });
        });

        using (var socket = await RawHttp.ConnectAsync(app.EndPoint))
        {
            await RawHttp.SendAsync(socket, "POST /slow-upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + new string('a', 1000));
            await reading.Task.WaitAsync(Clients.Timeout);
            socket.LingerState = new LingerOption(true, 0); // close() now sends RST
        }

        var error = await failure.Task.WaitAsync(Clients.Timeout);
        Assert.True(error is IOException or OperationCanceledException or BadHttpRequestException, error.ToString());
        using var client = app.Client();
        Assert.Equal("Hello, World!", await client.GetStringAsync("/plaintext"));
    }

    /// <summary>A read-only stream that does not tell its length.</summary>
    private sealed class UnknownLengthStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(count, Math.Min(data.Length - _position, 100_000));
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
