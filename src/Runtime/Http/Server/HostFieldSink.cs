using System.Text;

namespace Fastsock.Http.Server;

/// <summary>Remembers where the Host field's value sits in the head, so the exchange can serve it without a rescan.</summary>
internal struct HostFieldSink : IHttpFieldLineSink
{
    public int ValueOffset;
    public int ValueLength;
    public bool Seen;

    public void OnFieldLine(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength)
    {
        if (nameLength == 4 && Ascii.EqualsIgnoreCase(line[..4], "Host"u8))
        {
            Seen = true;
            ValueOffset = lineOffset + valueStart;
            ValueLength = valueLength;
        }
    }
}
