using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Fastsock.AspNetCore.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Fastsock.AspNetCore.Tests;

/// <summary>What an app sees of its connection through Kestrel's features, and what it can do to it.</summary>
public sealed class ConnectionFeatureTests
{
    [Fact]
    public async Task The_app_sees_the_peer_and_local_endpoints_connection_id_items_and_memory_pool()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/me", static (HttpContext context) =>
        {
            var connection = context.Connection;
            var items = context.Features.Get<IConnectionItemsFeature>()!.Items;
            items["seen"] = items.TryGetValue("seen", out var seen) ? (int)seen! + 1 : 1;
            var pool = context.Features.Get<IMemoryPoolFeature>()!.MemoryPool;
            return string.Create(
                CultureInfo.InvariantCulture,
                $"{connection.RemoteIpAddress}:{connection.RemotePort} {connection.LocalIpAddress}:{connection.LocalPort} {connection.Id} {items["seen"]} {pool.MaxBufferSize}");
        }));

        using var socket = await RawHttp.ConnectAsync(app.EndPoint);
        var first = await AskAsync(socket);
        var second = await AskAsync(socket);
        var client = (IPEndPoint)socket.LocalEndPoint!;
        Assert.Equal($"{client.Address}:{client.Port}", first[0]);
        Assert.Equal(app.EndPoint.ToString(), first[1]);
        Assert.False(string.IsNullOrEmpty(first[2]));
        Assert.Equal(first[2], second[2]); // one connection, one id
        Assert.Equal(["1", "2"], new[] { first[3], second[3] }); // items live as long as the connection
        Assert.Equal("4096", first[4]); // the worker's pool: 4 KiB blocks, as Kestrel's own
    }

    [Fact]
    public async Task An_app_that_aborts_its_connection_closes_it_without_a_response()
    {
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/abort", static (HttpContext context) => context.Abort());
            a.MapGet("/", static () => "still here");
        });

        using (var socket = await RawHttp.ConnectAsync(app.EndPoint))
        {
            await RawHttp.SendAsync(socket, "GET /abort HTTP/1.1\r\nHost: x\r\n\r\n");
            var (bytes, _) = await Clients.ReadUntilClosedAsync(socket);
            Assert.Equal(0, bytes);
        }

        using var client = app.Client();
        Assert.Equal("still here", await client.GetStringAsync("/"));
    }

    /// <summary>One keep-alive GET /me; its chunked body's words.</summary>
    private static async Task<string[]> AskAsync(Socket socket)
    {
        await RawHttp.SendAsync(socket, "GET /me HTTP/1.1\r\nHost: x\r\n\r\n");
        var text = await RawHttp.ReadUntilAsync(socket, "\r\n0\r\n\r\n", 1);
        var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        var chunk = body.Split("\r\n")[1]; // size line, then the one chunk's text
        return chunk.Split(' ');
    }
}
