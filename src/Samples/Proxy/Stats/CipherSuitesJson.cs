using System.Text.Json;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>
/// Handshakes by cipher suite as one JSON object keyed by <see cref="TlsCipherTable.Names"/>: the frontends'
/// (<see cref="TlsReport"/>) and the servers' (<see cref="BackendTlsReport"/>) counters use the same table, so they
/// are written the same way.
/// </summary>
internal static class CipherSuitesJson
{
    public static void Write(Utf8JsonWriter json, IReadOnlyList<long> cipherSuites)
    {
        json.WriteStartObject("ciphers");
        for (int i = 0; i < cipherSuites.Count; i++)
        {
            json.WriteNumber(TlsCipherTable.Names[i], cipherSuites[i]);
        }

        json.WriteEndObject();
    }
}
