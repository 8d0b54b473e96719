using System.Text.Json;

namespace Fastsock.Transport;

/// <summary>
/// TCP friends counters as JSON for an app's stats page (Hello's <c>/stats</c> and the proxy's admin JSON write it):
/// per worker, sockets that joined the friends map and bytes moved by redirect.
/// </summary>
public static class TcpFriendsStatsJson
{
    /// <summary>Writes the <c>tcpFriends</c> object into the object <paramref name="json"/> is in.</summary>
    public static void Write(Utf8JsonWriter json, IReadOnlyList<TcpFriendsStats> friends)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(friends);
        json.WriteStartObject("tcpFriends");
        json.WriteBoolean("enabled", friends.Count > 0);
        json.WriteStartArray("workers");
        foreach (var f in friends)
        {
            json.WriteStartObject();
            json.WriteNumber("worker", f.Worker);
            json.WriteNumber("cpu", f.Cpu);
            json.WriteNumber("friends", f.Friends);
            json.WriteNumber("bytesRedirected", f.BytesRedirected);
            json.WriteNumber("messagesRedirected", f.MessagesRedirected);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
