using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fastsock.Locality;

/// <summary>
/// The Toeplitz hash NICs use for RSS, with a per-key lookup table: one XOR per input byte instead of eight
/// conditional XORs per byte. Input is the receive-side tuple in packet order: source address, destination address,
/// source port, destination port (all big-endian), where "source" is whoever sent the packet being hashed.
/// </summary>
internal sealed class ToeplitzHash
{
    /// <summary>IPv6 + ports: 16 + 16 + 2 + 2 bytes, the longest tuple hashed.</summary>
    public const int MaxInputBytes = 36;

    private readonly uint[] _table; // [byte position * 256 + byte value] → that byte's contribution

    public ToeplitzHash(ReadOnlySpan<byte> key)
    {
        if (key.Length < 8)
        {
            throw new ArgumentException($"An RSS key of {key.Length} bytes is too short; NICs use 40 (or 52) bytes.", nameof(key));
        }

        InputBytes = Math.Min(key.Length - 4, MaxInputBytes);
        _table = new uint[InputBytes * 256];
        Span<uint> bitWindows = stackalloc uint[8];
        for (int position = 0; position < InputBytes; position++)
        {
            // The 32-bit key window that input bit (position * 8 + j) selects, for j = 0 (MSB) … 7.
            ulong window = BinaryPrimitives.ReadUInt64BigEndian(Window8(key, position));
            for (int j = 0; j < 8; j++)
            {
                bitWindows[j] = (uint)(window >> (32 - j));
            }

            var row = _table.AsSpan(position * 256, 256);
            for (int value = 0; value < 256; value++)
            {
                uint h = 0;
                for (int j = 0; j < 8; j++)
                {
                    if ((value & (0x80 >> j)) != 0)
                    {
                        h ^= bitWindows[j];
                    }
                }

                row[value] = h;
            }
        }
    }

    /// <summary>How many input bytes the key covers (its length minus 4, at most 36).</summary>
    public int InputBytes { get; }

    /// <summary>The contribution of <paramref name="value"/> at byte <paramref name="position"/> of the input.</summary>
    public uint ByteAt(int position, byte value) => _table[(position << 8) | value];

    public uint Hash(ReadOnlySpan<byte> input)
    {
        if (input.Length > InputBytes)
        {
            throw new ArgumentException($"Input of {input.Length} bytes is longer than the key covers ({InputBytes}).", nameof(input));
        }

        // Bounds were checked above: input.Length <= InputBytes, so every (i << 8 | byte) is inside the table.
        uint h = 0;
        ref uint table = ref MemoryMarshal.GetArrayDataReference(_table);
        ref byte bytes = ref MemoryMarshal.GetReference(input);
        for (int i = 0; i < input.Length; i++)
        {
            h ^= Unsafe.Add(ref table, (i << 8) | Unsafe.Add(ref bytes, i));
        }

        return h;
    }

    /// <summary>Eight key bytes starting at <paramref name="offset"/>, zero-padded past the key's end.</summary>
    private static ReadOnlySpan<byte> Window8(ReadOnlySpan<byte> key, int offset)
    {
        var bytes = new byte[8];
        int available = Math.Min(8, key.Length - offset);
        key.Slice(offset, available).CopyTo(bytes);
        return bytes;
    }
}
