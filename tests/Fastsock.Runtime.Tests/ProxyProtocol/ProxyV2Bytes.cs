namespace Fastsock.Tests.ProxyProtocol;

/// <summary>Builds binary (v2) headers byte by byte, independently of the writer under test.</summary>
internal static class ProxyV2Bytes
{
    public static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>Signature, version/command, family/transport, the length of <paramref name="block"/>, then the block.</summary>
    public static byte[] Header(byte versionCommand, byte familyTransport, params byte[] block) =>
        Header(versionCommand, familyTransport, block.Length, block);

    /// <summary>As above with an announced length that may differ from the block's.</summary>
    public static byte[] Header(byte versionCommand, byte familyTransport, int length, byte[] block) =>
        [.. Signature, versionCommand, familyTransport, (byte)(length >> 8), (byte)length, .. block];

    /// <summary>TCP over IPv4 from 192.0.2.1:1000 to 198.51.100.2:443.</summary>
    public static byte[] Inet4Block => [192, 0, 2, 1, 198, 51, 100, 2, 0x03, 0xE8, 0x01, 0xBB];

    /// <summary>One type-length-value vector.</summary>
    public static byte[] Tlv(byte type, byte[] value) => [type, (byte)(value.Length >> 8), (byte)value.Length, .. value];
}
