using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// The witness reads server flights built byte by byte after RFC 8446 and RFC 5246 (the end-to-end check with
/// openssl s_client is in TlsResumptionTests); each flight is also fed one byte at a time, since writes may split anywhere.
/// </summary>
public sealed class ResumptionWitnessTests
{
    private const ushort SupportedVersions = 43;
    private const ushort PreSharedKey = 41;
    private const ushort KeyShare = 51;

    public static TheoryData<string, bool?> Flights => new()
    {
        { "tls12-full", false },
        { "tls12-abbreviated", true },
        { "tls12-abbreviated-with-ticket", true },
        { "tls13-full", false },
        { "tls13-psk", true },
        { "tls13-retry-then-psk", true },
        { "alert", null },
    };

    [Theory]
    [MemberData(nameof(Flights))]
    public void Server_flight_is_read_as_resumed_or_full_whether_written_whole_or_byte_by_byte(string flight, bool? resumed)
    {
        var bytes = Flight(flight);
        var whole = ResumptionWitness.OfServer();
        whole.Observe(bytes);
        Assert.Equal(resumed, whole.Resumed);

        var split = ResumptionWitness.OfServer();
        foreach (var b in bytes)
        {
            split.Observe([b]);
        }

        Assert.Equal(resumed, split.Resumed);
    }

    [Fact]
    public void Bytes_after_the_decision_are_ignored()
    {
        var witness = ResumptionWitness.OfServer();
        witness.Observe(Flight("tls13-full"));
        witness.Observe(Record(22, Message(2, ServerHello(tls13: true, psk: true))));
        Assert.False(witness.Resumed);
    }

    private static byte[] Flight(string name) => name switch
    {
        "tls12-full" => [.. Record(22, [.. Message(2, ServerHello(tls13: false, psk: false)), .. Message(11, new byte[300]), .. Message(12, new byte[100]), .. Message(14, [])])],
        "tls12-abbreviated" => [.. Record(22, Message(2, ServerHello(tls13: false, psk: false))), .. Record(20, [1]), .. Record(22, new byte[40])],
        "tls12-abbreviated-with-ticket" => [.. Record(22, [.. Message(2, ServerHello(tls13: false, psk: false)), .. Message(4, new byte[180])]), .. Record(20, [1])],
        "tls13-full" => [.. Record(22, Message(2, ServerHello(tls13: true, psk: false))), .. Record(20, [1]), .. Record(23, new byte[900])],
        "tls13-psk" => [.. Record(22, Message(2, ServerHello(tls13: true, psk: true))), .. Record(20, [1]), .. Record(23, new byte[90])],
        "tls13-retry-then-psk" => [.. Record(22, Message(2, ServerHello(tls13: true, psk: false, retry: true))), .. Record(20, [1]),
            .. Record(22, Message(2, ServerHello(tls13: true, psk: true))), .. Record(23, new byte[90])],
        _ => Record(21, [2, 40]),
    };

    private static byte[] ServerHello(bool tls13, bool psk, bool retry = false)
    {
        var hello = new List<byte> { 3, 3 };
        hello.AddRange(retry
            ? Convert.FromHexString("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
            : Enumerable.Range(1, 32).Select(i => (byte)i));
        hello.Add(32);
        hello.AddRange(Enumerable.Repeat((byte)7, 32));
        hello.AddRange(tls13 ? [0x13, 0x02] : [0xC0, 0x2C]);
        hello.Add(0);
        var extensions = new List<byte>();
        if (tls13)
        {
            extensions.AddRange(Extension(SupportedVersions, [3, 4]));
            extensions.AddRange(Extension(KeyShare, [0, 29, 0, 32, .. new byte[32]]));
            if (psk)
            {
                extensions.AddRange(Extension(PreSharedKey, [0, 0]));
            }
        }
        else
        {
            extensions.AddRange(Extension(0xFF01, [0])); // renegotiation_info, as OpenSSL sends
        }

        hello.Add((byte)(extensions.Count >> 8));
        hello.Add((byte)extensions.Count);
        hello.AddRange(extensions);
        return [.. hello];
    }

    private static byte[] Extension(ushort type, byte[] data) => [(byte)(type >> 8), (byte)type, (byte)(data.Length >> 8), (byte)data.Length, .. data];

    private static byte[] Message(byte type, byte[] body) => [type, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

    private static byte[] Record(byte type, byte[] body) => [type, 3, 3, (byte)(body.Length >> 8), (byte)body.Length, .. body];
}
