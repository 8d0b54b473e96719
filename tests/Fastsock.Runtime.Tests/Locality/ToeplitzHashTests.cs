using System.Buffers.Binary;
using System.Net;
using Fastsock.Locality;

namespace Fastsock.Tests.Locality;

/// <summary>Microsoft's "Verifying the RSS Hash Calculation" suite (the same rows as the Intel 82599 datasheet's).</summary>
public sealed class ToeplitzHashTests
{
    public static readonly byte[] MicrosoftKey = Convert.FromHexString("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa");

    // Source (the packet's sender), destination, IP-only hash, hash with TCP ports.
    public static TheoryData<string, string, uint, uint> Rows => new()
    {
        { "66.9.149.187:2794", "161.142.100.80:1766", 0x323e8fc2, 0x51ccc178 },
        { "199.92.111.2:14230", "65.69.140.83:4739", 0xd718262a, 0xc626b0ea },
        { "24.19.198.95:12898", "12.22.207.184:38024", 0xd2d0a5de, 0x5c2b394a },
        { "38.27.205.30:48228", "209.142.163.6:2217", 0x82989176, 0xafc7327f },
        { "153.39.163.191:44251", "202.188.127.2:1303", 0x5d1809c5, 0x10e828a2 },
        { "[3ffe:2501:200:1fff::7]:2794", "[3ffe:2501:200:3::1]:1766", 0x2cc18cd5, 0x40207d3d },
        { "[3ffe:501:8::260:97ff:fe40:efab]:14230", "[ff02::1]:4739", 0x0f0c461c, 0xdde51bbf },
        { "[3ffe:1900:4545:3:200:f8ff:fe21:67cf]:44251", "[fe80::200:f8ff:fe21:67cf]:38024", 0x4b61e985, 0x02d1feef },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Hash_of_the_addresses_alone_matches_the_verification_suite(string source, string destination, uint ipHash, uint tcpHash)
    {
        _ = tcpHash;
        var hash = new ToeplitzHash(MicrosoftKey);
        Assert.Equal(ipHash, hash.Hash(Input(source, destination, withPorts: false)));
        Assert.Equal(ipHash, BitwiseReference(MicrosoftKey, Input(source, destination, withPorts: false)));
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Hash_of_addresses_and_ports_matches_the_verification_suite(string source, string destination, uint ipHash, uint tcpHash)
    {
        _ = ipHash;
        var hash = new ToeplitzHash(MicrosoftKey);
        Assert.Equal(tcpHash, hash.Hash(Input(source, destination, withPorts: true)));
        Assert.Equal(tcpHash, BitwiseReference(MicrosoftKey, Input(source, destination, withPorts: true)));
    }

    [Fact]
    public void Table_driven_hash_equals_the_bitwise_definition_on_random_input_and_keys()
    {
        var random = new Random(3);
        for (int round = 0; round < 200; round++)
        {
            var key = new byte[40];
            random.NextBytes(key);
            var input = new byte[random.Next(0, 37)];
            random.NextBytes(input);
            Assert.Equal(BitwiseReference(key, input), new ToeplitzHash(key).Hash(input));
        }
    }

    [Fact]
    public void Key_shorter_than_the_input_is_refused_with_a_message()
    {
        var hash = new ToeplitzHash(new byte[16]);
        var error = Assert.Throws<ArgumentException>(() => hash.Hash(new byte[13]));
        Assert.Contains("13 bytes", error.Message, StringComparison.Ordinal);
    }

    internal static byte[] Input(string source, string destination, bool withPorts)
    {
        var s = IPEndPoint.Parse(source);
        var d = IPEndPoint.Parse(destination);
        var bytes = new List<byte>();
        bytes.AddRange(s.Address.GetAddressBytes());
        bytes.AddRange(d.Address.GetAddressBytes());
        if (withPorts)
        {
            var ports = new byte[4];
            BinaryPrimitives.WriteUInt16BigEndian(ports, (ushort)s.Port);
            BinaryPrimitives.WriteUInt16BigEndian(ports.AsSpan(2), (ushort)d.Port);
            bytes.AddRange(ports);
        }

        return [.. bytes];
    }

    /// <summary>The definition, bit by bit: for each set input bit, XOR the 32 key bits starting at that bit.</summary>
    internal static uint BitwiseReference(byte[] key, byte[] input)
    {
        uint result = 0;
        for (int bit = 0; bit < input.Length * 8; bit++)
        {
            if ((input[bit / 8] & (0x80 >> (bit % 8))) == 0)
            {
                continue;
            }

            uint window = 0;
            for (int k = 0; k < 32; k++)
            {
                int keyBit = bit + k;
                int value = keyBit / 8 < key.Length ? (key[keyBit / 8] >> (7 - (keyBit % 8))) & 1 : 0;
                window = (window << 1) | (uint)value;
            }

            result ^= window;
        }

        return result;
    }
}
