using System.Text;

namespace Fastsock.Http.Proxying;

/// <summary>
/// The field lines of one parsed head that go on to the next hop, kept as offsets into the head, and the writing of
/// them: one parse of a head is enough even though a field named in Connection may come before the Connection field,
/// because the names are filtered when writing.
/// </summary>
/// <remarks>
/// Lines already in written form ("Name: value\r\n") are copied as runs of adjacent bytes, so a head without
/// hop-by-hop fields is usually one copy. The rules are written down in this folder's README.
/// </remarks>
internal sealed class ForwardedFieldLines(bool isRequest)
{
    // Most messages carry fewer fields; a connection that sees more grows the array once, up to the parser's limit.
    private const int InitialCapacity = 16;

    private readonly bool _isRequest = isRequest;
    private RecordedFieldLine[] _fields = new RecordedFieldLine[InitialCapacity];
    private int _count;
    private ConnectionOptionNames? _connectionOptions; // null until a message lists a name to remove
    private HttpParseError? _error;
    private int _upgradeField = -1;
    private bool _listsUpgrade;

    /// <summary>Why the fields cannot be forwarded (a Connection field that cannot be honoured); null when they can.</summary>
    public HttpParseError? Error => _error;

    /// <summary>At most how many bytes writing the fields adds to the head's own: one per line ("Name:value").</summary>
    public int MaxGrowth => _count;

    /// <summary>
    /// Whether an Upgrade field is recorded (at <see cref="UpgradeField"/>) rather than dropped as hop-by-hop: set it
    /// for a request (whether it asks for an upgrade is known only after the parse) or for the response to one.
    /// </summary>
    public bool RecordUpgrade { get; set; }

    /// <summary>The index of the Upgrade field recorded under <see cref="RecordUpgrade"/>; -1 when none.</summary>
    public int UpgradeField => _upgradeField;

    /// <summary>Whether Connection listed "upgrade" (the fields of the message ask for, or agree to, an upgrade).</summary>
    public bool ListsUpgrade => _listsUpgrade;

    public void Clear()
    {
        _count = 0;
        _connectionOptions?.Clear();
        _error = null;
        _upgradeField = -1;
        _listsUpgrade = false;
    }

    /// <summary>Whether Connection listed <paramref name="name"/>, which then is not forwarded.</summary>
    public bool IsListed(ReadOnlySpan<byte> name) => _connectionOptions is { Count: not 0 } listed && listed.Contains(name);

    /// <summary>Records one field line (see <see cref="IHttpFieldLineSink"/>); returns its index, or -1 for a hop-by-hop field.</summary>
    public int Record(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength)
    {
        ReadOnlySpan<byte> name = line[..nameLength];
        if (HopByHopFields.Contains(name))
        {
            if (nameLength == 10 && Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                _error ??= ConnectionOptionNames.AddListed(ref _connectionOptions, line.Slice(valueStart, valueLength), _isRequest, ref _listsUpgrade);
            }
            else if (nameLength == 7 && RecordUpgrade && _upgradeField < 0 && Ascii.EqualsIgnoreCase(name, "Upgrade"u8))
            {
                // Kept aside (hop-by-hop fields are rare, so ordinary messages pay nothing): forwarded only when the
                // exchange turns out to be an upgrade, else removed before writing. A second Upgrade line is dropped.
                _upgradeField = Add(line, lineOffset, nameLength, valueStart, valueLength);
                return _upgradeField;
            }

            return -1;
        }

        return Add(line, lineOffset, nameLength, valueStart, valueLength);
    }

    private int Add(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength)
    {
        if (_count == _fields.Length)
        {
            Array.Resize(ref _fields, _fields.Length * 2);
        }

        bool writtenForm = valueStart == nameLength + 2 && line[nameLength + 1] == HttpSyntax.Space && valueStart + valueLength == line.Length;
        _fields[_count] = new RecordedFieldLine(lineOffset, line.Length, nameLength, valueStart, valueLength, writtenForm, Removed: false);
        return _count++;
    }

    /// <summary>The recorded Upgrade field is not to be forwarded after all (<see cref="Remove"/> it too).</summary>
    public void ForgetUpgrade() => _upgradeField = -1;

    /// <summary>Leaves the field recorded at <paramref name="index"/> out of <see cref="Write"/> (a Host replaced by the target's authority).</summary>
    public void Remove(int index) => _fields[index] = _fields[index] with { Removed = true };

    /// <summary>
    /// Writes the fields into <paramref name="span"/> after the run <c>head[runStart..runEnd]</c> (a start line in written
    /// form, or empty), appending <paramref name="appended"/> to the value of field <paramref name="appendTo"/>.
    /// </summary>
    /// <returns>The bytes written.</returns>
    public int Write(ReadOnlySpan<byte> head, Span<byte> span, int runStart, int runEnd, int appendTo, ReadOnlySpan<byte> appended)
    {
        int written = 0;
        var listed = _connectionOptions is { Count: not 0 } names ? names : null;
        for (int i = 0; i < _count; i++)
        {
            ref readonly RecordedFieldLine field = ref _fields[i];
            if (field.Removed || (listed is not null && listed.Contains(head.Slice(field.Offset, field.NameLength))))
            {
                continue;
            }

            bool append = i == appendTo;
            if (field.IsWrittenForm && !append)
            {
                if (field.Offset != runEnd)
                {
                    written += Copy(head[runStart..runEnd], span[written..]);
                    runStart = field.Offset;
                }

                runEnd = field.Offset + field.Length + 2;
                continue;
            }

            written += Copy(head[runStart..runEnd], span[written..]);
            runStart = runEnd = 0;
            ReadOnlySpan<byte> line = head.Slice(field.Offset, field.Length);
            written += WriteLine(span[written..], line[..field.NameLength], line.Slice(field.ValueStart, field.ValueLength), append ? appended : default);
        }

        return written + Copy(head[runStart..runEnd], span[written..]);
    }

    public static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }

    /// <summary>"name: value[, appended]\r\n"; name and value are validated by the parser or the caller.</summary>
    public static int WriteLine(Span<byte> span, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ReadOnlySpan<byte> appended)
    {
        int position = Copy(name, span);
        span[position++] = (byte)':';
        span[position++] = (byte)' ';
        position += Copy(value, span[position..]);
        if (!value.IsEmpty && !appended.IsEmpty)
        {
            span[position++] = (byte)',';
            span[position++] = (byte)' ';
        }

        position += Copy(appended, span[position..]);
        span[position++] = HttpSyntax.Cr;
        span[position++] = HttpSyntax.Lf;
        return position;
    }

    /// <summary>Where a field line to forward is in the head; the line excludes its CRLF.</summary>
    private readonly record struct RecordedFieldLine(int Offset, int Length, int NameLength, int ValueStart, int ValueLength, bool IsWrittenForm, bool Removed);
}
