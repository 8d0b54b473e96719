using System.Buffers;
using System.Runtime.Versioning;
using System.Text;

namespace Fastsock.Tests.Http;

/// <summary>Builds inputs the way a pipe delivers them: possibly split across many segments.</summary>
[SupportedOSPlatform("linux")]
internal static class Sequences
{
    /// <summary>Latin-1 so a test can put any byte value (obs-text, CTLs) into a request as a char.</summary>
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    public static ReadOnlySequence<byte> Contiguous(string text) => new(Bytes(text));

    /// <summary>Splits <paramref name="data"/> at the given ascending offsets; each piece gets its own array.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        Segment? first = null;
        Segment? last = null;
        int start = 0;
        foreach (int cut in cuts.Append(data.Length))
        {
            Segment segment = new(data.AsSpan(start, cut - start).ToArray(), last);
            first ??= segment;
            last = segment;
            start = cut;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] data) =>
        Split(data, Enumerable.Range(1, Math.Max(0, data.Length - 1)).ToArray());

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, Segment? previous)
        {
            Memory = data;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
