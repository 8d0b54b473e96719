using System.Text.Json;
using Fastsock.Transport;

namespace Fastsock.Samples.Hello;

/// <summary>The "tcpFriends" section of /stats: per worker, sockets that joined the friends map and bytes moved by redirect.</summary>
internal static class TcpFriendsJson
{
    public static void Write(Utf8JsonWriter json, IReadOnlyList<TcpFriendsStats> friends)
    {
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
