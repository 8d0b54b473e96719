using System.Buffers;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// The cursor that makes the client's ciphertext stream hand SslStream one TLS record per read: whatever way the
/// records arrive (several per read, a header split across reads, reads smaller than a record), no read crosses a
/// record's end, and every byte is handed out once, in order.
/// </summary>
public sealed class TlsRecordCursorTests
{
    // Records of payload lengths 0, 1, 300, 16,401 (a TLS 1.3 maximum) and 2: their ends are what no read may cross.
    private static readonly int[] PayloadLengths = [0, 1, 300, 16_401, 2];

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(4096)]
    [InlineData(100_000)]
    public void Reads_stop_at_every_record_end_and_hand_out_every_byte_once(int readSize)
    {
        var (wire, ends) = Records();
        var cursor = default(TlsRecordCursor);
        int at = 0;
        while (at < wire.Length)
        {
            // The input holds everything not yet handed out, split in two segments to cover a header across them.
            var available = Split(wire.AsMemory(at), 2);
            int taken = cursor.Take(available, readSize);
            Assert.InRange(taken, 1, readSize);
            int end = ends.First(e => e > at);
            Assert.True(at + taken <= end, $"a read of {taken} B at {at} crossed the record end at {end}");
            at += taken;
        }

        Assert.Equal(wire.Length, at);
    }

    [Fact]
    public void A_header_learned_a_byte_at_a_time_still_ends_each_record_where_its_length_says()
    {
        var (wire, ends) = Records();
        var cursor = default(TlsRecordCursor);
        var handed = new List<int>();
        for (int at = 0; at < wire.Length;)
        {
            // Only one new byte is in the input at a time: the header is learned a byte per read.
            int taken = cursor.Take(new ReadOnlySequence<byte>(wire, at, 1), 64 * 1024);
            Assert.Equal(1, taken);
            at += taken;
            if (ends.Contains(at))
            {
                handed.Add(at);
            }
        }

        Assert.Equal(ends, handed);
    }

    [Fact]
    public void A_zero_byte_read_takes_nothing_and_moves_nothing()
    {
        var (wire, _) = Records();
        var cursor = default(TlsRecordCursor);
        Assert.Equal(0, cursor.Take(new ReadOnlySequence<byte>(wire), 0));
        Assert.Equal(5, cursor.Take(new ReadOnlySequence<byte>(wire), 64 * 1024)); // the empty first record: its header only
    }

    [Fact]
    public void Taking_allocates_nothing()
    {
        var (wire, _) = Records();
        var available = Split(wire, 3);
        Run(available); // JIT and tiering first
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            Run(available);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Run(ReadOnlySequence<byte> available)
        {
            var cursor = default(TlsRecordCursor);
            long at = 0;
            while (at < available.Length)
            {
                at += cursor.Take(available.Slice(at), 4096);
            }
        }
    }

    /// <summary>The records back to back, and the offset just past each one.</summary>
    private static (byte[] Wire, List<int> Ends) Records()
    {
        var wire = new List<byte>();
        var ends = new List<int>();
        foreach (int length in PayloadLengths)
        {
            wire.AddRange([23, 3, 3, (byte)(length >> 8), (byte)length]);
            for (int i = 0; i < length; i++)
            {
                wire.Add((byte)i);
            }

            ends.Add(wire.Count);
        }

        return ([.. wire], ends);
    }

    /// <summary><paramref name="bytes"/> as a sequence of <paramref name="parts"/> segments of about equal length.</summary>
    private static ReadOnlySequence<byte> Split(ReadOnlyMemory<byte> bytes, int parts)
    {
        if (bytes.Length < parts)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        int size = bytes.Length / parts;
        var first = new Segment(bytes[..size], 0);
        var last = first;
        for (int i = 1; i < parts; i++)
        {
            var next = i == parts - 1 ? bytes[(i * size)..] : bytes.Slice(i * size, size);
            last = last.Append(next);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
