using System.Net;
using System.Text;
using Fastsock.Http;
using Fastsock.Http.Server;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Routing;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>
/// Live server changes on the admin endpoint (HAProxy's <c>set server … weight / state</c>):
/// <c>POST /servers/{backend}/{server}/weight?value=N</c> (0 to 256) and
/// <c>POST /servers/{backend}/{server}/state?value=ready|drain|maint</c>. drain: no new sessions or requests, those in
/// progress finish; maint: out of rotation too, and each worker closes its idle connections to the server at its next
/// sweep; ready: back in rotation. Answers 404 for an unknown path, backend or server, 400 for a bad value, 405 for
/// another method than POST, 403 to a peer that is not loopback (unless <c>admin.remoteApi</c>); nothing changes on
/// an error. A change stays across DNS updates and reloads that keep the server (same name and address); a reload that
/// changes the server's configured weight applies that weight instead.
/// </summary>
internal sealed partial class RuntimeApi(IReadOnlyDictionary<string, BackendPool> pools, ILogger logger)
{
    private const int MaxWeight = 256;

    /// <summary>True for the paths this API answers (everything under <c>/servers/</c>).</summary>
    public static bool Handles(ReadOnlySpan<byte> path) => path.StartsWith("/servers/"u8);

    public void Process(HttpExchange exchange, bool remoteAllowed)
    {
        var parts = Uri.UnescapeDataString(Encoding.UTF8.GetString(exchange.Path)).Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 4 || parts[3] is not ("weight" or "state"))
        {
            Answer(exchange, 404, "no such path: use POST /servers/{backend}/{server}/weight?value=N or /servers/{backend}/{server}/state?value=ready|drain|maint");
            return;
        }

        if (exchange.Method != RequestMethod.Post)
        {
            Answer(exchange, 405, $"{parts[3]} is changed with POST");
            return;
        }

        if (!remoteAllowed && !IsLoopback(exchange.Connection.RemoteEndPoint))
        {
            Answer(exchange, 403, "the runtime API answers loopback peers only; set admin.remoteApi to true to allow others");
            return;
        }

        if (!pools.TryGetValue(parts[1], out var pool))
        {
            Answer(exchange, 404, $"no backend '{parts[1]}'; backends: {string.Join(", ", pools.Keys.Order())}");
            return;
        }

        if (pool.Find(parts[2]) is not { } server)
        {
            Answer(exchange, 404, $"no server '{parts[2]}' in backend '{parts[1]}'; servers: {string.Join(", ", pool.Servers.Select(s => s.Settings.Name))}");
            return;
        }

        string? value = ValueOf(exchange.Query);
        if (parts[3] == "weight")
        {
            if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int weight) || weight > MaxWeight)
            {
                Answer(exchange, 400, $"weight '{value}' is not a number from 0 to {MaxWeight}; e.g. ?value=10");
                return;
            }

            int was = server.SetRuntimeWeight(weight);
            WeightSet(logger, pool.Name, server.Settings.Name, was, weight);
            Answer(exchange, 200, $"{pool.Name}/{server.Settings.Name}: weight {weight} (was {was})");
            return;
        }

        ServerAdminState? state = value switch
        {
            "ready" => ServerAdminState.Ready,
            "drain" => ServerAdminState.Drain,
            "maint" => ServerAdminState.Maint,
            _ => null,
        };
        if (state is not { } admin)
        {
            Answer(exchange, 400, $"state '{value}' is not one of ready, drain, maint; e.g. ?value=drain");
            return;
        }

        var previous = server.AdminState;
        server.AdminState = admin;
        StateSet(logger, pool.Name, server.Settings.Name, previous, admin);
        Answer(exchange, 200, $"{pool.Name}/{server.Settings.Name}: state {Name(admin)} (was {Name(previous)})");
    }

    private static string Name(ServerAdminState state) => state.ToString().ToLowerInvariant();

    private static bool IsLoopback(EndPoint? peer) => peer switch
    {
        IPEndPoint ip => IPAddress.IsLoopback(ip.Address),
        null => false,
        _ => true, // a unix socket or in-process connection is this host
    };

    /// <summary>The <c>value</c> parameter of the query, or null.</summary>
    private static string? ValueOf(ReadOnlySpan<byte> query)
    {
        foreach (var range in query.Split((byte)'&'))
        {
            var pair = query[range];
            if (pair.StartsWith("value="u8))
            {
                return Uri.UnescapeDataString(Encoding.UTF8.GetString(pair[6..]));
            }
        }

        return null;
    }

    private static void Answer(HttpExchange exchange, int status, string message) =>
        exchange.WriteResponse(status, "text/plain; charset=utf-8"u8, Encoding.UTF8.GetBytes(message + "\n"));

    [LoggerMessage(EventId = 350, Level = LogLevel.Warning, Message = "Runtime API: server {Backend}/{Server} weight {Weight} (was {Was})")]
    private static partial void WeightSet(ILogger logger, string backend, string server, int was, int weight);

    [LoggerMessage(EventId = 351, Level = LogLevel.Warning, Message = "Runtime API: server {Backend}/{Server} state {State} (was {Was})")]
    private static partial void StateSet(ILogger logger, string backend, string server, ServerAdminState was, ServerAdminState state);
}
