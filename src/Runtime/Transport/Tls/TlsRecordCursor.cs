using System.Buffers;

namespace Fastsock.Transport.Tls;

/// <summary>
/// Where a reader of TLS ciphertext stands inside the current record (RFC 8446 §5.1, RFC 5246 §6.2: a 5-byte header,
/// type, version and a 16-bit length, then that many bytes), so that a read can end where the record ends.
/// </summary>
/// <remarks>
/// SslStream decrypts every whole record one read of its inner stream brought in, into the caller's buffer, before it
/// returns; when one of them fails to decrypt or verify it throws, and the plaintext of the good records before it in
/// that read is lost. Handed one record per read, it returns each good record's plaintext before it sees the next one.
/// A header may be split across reads (the peer's segments decide): the bytes of it seen so far are kept here.
/// </remarks>
internal struct TlsRecordCursor
{
    private const int HeaderSize = 5;

    private int _headerSeen; // bytes of the current record's header already handed out, 0..5
    private int _payloadLeft; // while the header is incomplete: the length bytes seen so far; then the payload not yet handed out

    /// <summary>
    /// How many of the bytes at the start of <paramref name="data"/>, at most <paramref name="max"/>, belong to the
    /// current record; the cursor moves past them, to the next record's first byte when they end this one.
    /// </summary>
    public int Take(in ReadOnlySequence<byte> data, int max)
    {
        int limit = (int)Math.Min(data.Length, max);
        int taken = 0;
        if (_headerSeen < HeaderSize)
        {
            taken = Math.Min(HeaderSize - _headerSeen, limit);
            Span<byte> header = stackalloc byte[HeaderSize];
            data.Slice(0, taken).CopyTo(header);
            for (int i = 0; i < taken; i++, _headerSeen++)
            {
                // Bytes 3 and 4 of the header are the payload's length, big-endian.
                if (_headerSeen >= 3)
                {
                    _payloadLeft = (_payloadLeft << 8) | header[i];
                }
            }

            if (_headerSeen < HeaderSize)
            {
                return taken;
            }
        }

        int payload = Math.Min(_payloadLeft, limit - taken);
        _payloadLeft -= payload;
        if (_payloadLeft == 0)
        {
            _headerSeen = 0;
        }

        return taken + payload;
    }
}
