using System.Net.WebSockets;
using Fastsock.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.AspNetCore;

/// <summary>
/// The app: the same endpoints whichever transport carries them, so the two can be compared fairly.
/// <c>/plaintext</c>, <c>/json</c>, <c>POST /echo</c>, a WebSocket echo on <c>/ws</c>, and <c>/stats</c> (how many
/// requests ran on the CPU that accepted their connection).
/// </summary>
internal static class SampleApp
{
    private static readonly byte[] s_plaintext = "Hello, World!"u8.ToArray();

    public static async Task<int> RunAsync(SampleSettings settings, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.SetMinimumLevel(settings.LogLevel);
        builder.WebHost.UseUrls(settings.Urls);
        if (settings.Transport == SampleTransport.Fastsock)
        {
            builder.WebHost.UseFastsock(o =>
            {
                o.Cores = settings.Cores;
                o.Steering = settings.Steering;
            });
        }

        builder.Services.AddSingleton<LocalityCounters>();
        await using var app = builder.Build();
        Map(app, settings.Transport);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"fastsock-aspnetcore: {ex.Message}");
            return 1;
        }

        foreach (var address in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses)
        {
            Console.WriteLine($"Listening on {address}");
        }

        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    /// <summary>The endpoints; also used by the tests' in-process apps.</summary>
    public static void Map(WebApplication app, SampleTransport transport)
    {
        var locality = app.Services.GetRequiredService<LocalityCounters>();
        app.UseWebSockets();
        app.Use((context, next) =>
        {
            // /stats is the observer: reading it must not move the figures it reports.
            if (!context.Request.Path.StartsWithSegments("/stats", StringComparison.Ordinal))
            {
                locality.Count(context, transport);
            }

            return next(context);
        });

        app.MapGet("/plaintext", static context =>
        {
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = s_plaintext.Length;
            return context.Response.Body.WriteAsync(s_plaintext).AsTask();
        });
        app.MapGet("/json", static () => TypedResults.Json(new Greeting("Hello, World!"), SampleJsonContext.Default.Greeting));
        app.MapPost("/echo", static async context =>
        {
            context.Response.ContentType = context.Request.ContentType ?? "application/octet-stream";
            context.Response.ContentLength = context.Request.ContentLength;
            await context.Request.Body.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        app.Map("/ws", static async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await EchoAsync(socket, context.RequestAborted);
        });
        app.MapGet("/stats", static (LocalityCounters counters) => TypedResults.Json(counters.Snapshot(), SampleJsonContext.Default.LocalityStats));
    }

    private static async Task EchoAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, cancellationToken);
        }
    }
}

internal sealed record Greeting(string Message);
