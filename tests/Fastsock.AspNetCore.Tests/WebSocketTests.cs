using System.Net.WebSockets;
using System.Text;
using Fastsock.AspNetCore.Tests.Support;
using Fastsock.Samples.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Fastsock.AspNetCore.Tests;

public sealed class WebSocketTests
{
    [Fact]
    public async Task The_sample_app_echoes_websocket_messages_on_fastsock()
    {
        await using var app = await TestApp.StartAsync(
            a => SampleApp.Map(a, SampleTransport.Fastsock),
            configure: b => b.Services.AddSingleton<LocalityCounters>());
        using var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(Clients.Timeout);
        await socket.ConnectAsync(new Uri($"ws://{app.BaseUri.Authority}/ws"), timeout.Token);
        var buffer = new byte[64 * 1024];
        foreach (var text in new[] { "hello", new string('x', 40_000), "bye" })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            var received = new StringBuilder();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, timeout.Token);
                received.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            }
            while (!result.EndOfMessage);
            Assert.Equal(text, received.ToString());
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }
}
