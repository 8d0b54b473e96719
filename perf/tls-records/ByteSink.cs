using Fastsock.Transport.Tls.OpenSsl;

namespace Fastsock.Perf.TlsRecords;

/// <summary>One side's flight of handshake bytes, reused from handshake to handshake (grows once, then never allocates).</summary>
internal sealed class ByteSink
{
    private byte[] _bytes = new byte[16 * 1024];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _bytes.AsSpan(0, Length);

    public void Clear() => Length = 0;

    public void Append(ReadOnlySpan<byte> data)
    {
        Reserve(data.Length);
        data.CopyTo(_bytes.AsSpan(Length));
        Length += data.Length;
    }

    /// <summary>Moves everything pending in a memory BIO to the end of this sink.</summary>
    public unsafe void AppendFrom(IntPtr bio)
    {
        while (true)
        {
            Reserve(4096);
            int n;
            fixed (byte* end = &_bytes[Length])
            {
                n = LibCrypto.BioRead(bio, end, _bytes.Length - Length);
            }

            if (n <= 0)
            {
                return;
            }

            Length += n;
        }
    }

    private void Reserve(int count)
    {
        if (_bytes.Length - Length < count)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, Length + count));
        }
    }
}
