namespace Fastsock.Transport.Tls;

/// <summary>
/// Tells a resumed handshake from a full one by reading the server's first flight, because SslStream exposes no
/// "resumed" flag (on either side) and its OpenSSL handle is not ours to touch. The server's first flight starts in
/// plaintext on both ends of the wire: a server layer sees it in the records it writes, a client layer in the records
/// it reads (<see cref="WatchesReads"/>). The wire is the ground truth:
/// TLS 1.3 (RFC 8446 §4.2.11): the ServerHello carries <c>pre_shared_key</c> (41) exactly when the server accepted a
/// ticket. TLS 1.2 (RFC 5246 §7.3): a full handshake sends Certificate (11) after the ServerHello; an abbreviated one
/// goes straight to ChangeCipherSpec. Only the first flight is read, then the witness stops looking.
/// </summary>
internal sealed class ResumptionWitness
{
    private const byte ChangeCipherSpec = 20;
    private const byte Handshake = 22;
    private const byte ServerHelloType = 2;
    private const byte CertificateType = 11;
    private const ushort SupportedVersions = 43;
    private const ushort PreSharedKey = 41;

    // A HelloRetryRequest is a ServerHello with this random (RFC 8446 §4.1.3); the real ServerHello follows it.
    private static ReadOnlySpan<byte> HelloRetryRandom =>
    [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ];

    private readonly byte[] _recordHeader = new byte[5];
    private readonly byte[] _messageHeader = new byte[4];
    private int _recordHeaderFill;
    private int _recordRemaining;
    private byte _recordType;
    private int _messageHeaderFill;
    private int _messageRemaining;
    private byte[]? _serverHello;
    private int _serverHelloFill;
    private bool _sawServerHello;
    private bool _gaveUp;

    private ResumptionWitness(bool watchesReads) => WatchesReads = watchesReads;

    /// <summary>False: the stream it watches is the server's (the flight is what it writes); true: the client's (what it reads).</summary>
    public bool WatchesReads { get; }

    /// <summary>A witness for a server layer: it reads what the layer writes.</summary>
    public static ResumptionWitness OfServer() => new(watchesReads: false);

    /// <summary>A witness for a client layer: it reads what the layer reads from the server.</summary>
    public static ResumptionWitness OfClient() => new(watchesReads: true);

    /// <summary>True: resumed; false: full; null: not decided (yet, or the flight was not what a server sends).</summary>
    public bool? Resumed { get; private set; }

    private bool Done => Resumed is not null || _gaveUp;

    /// <summary>Reads bytes of the server's flight, in order (as the server sends them or as the client receives them).</summary>
    public void Observe(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty && !Done)
        {
            if (_recordRemaining == 0)
            {
                int take = Math.Min(5 - _recordHeaderFill, bytes.Length);
                bytes[..take].CopyTo(_recordHeader.AsSpan(_recordHeaderFill));
                _recordHeaderFill += take;
                bytes = bytes[take..];
                if (_recordHeaderFill == 5)
                {
                    _recordHeaderFill = 0;
                    _recordType = _recordHeader[0];
                    _recordRemaining = (_recordHeader[3] << 8) | _recordHeader[4];
                    if (_recordType == ChangeCipherSpec && _sawServerHello)
                    {
                        // TLS 1.2: ChangeCipherSpec before any Certificate is the abbreviated handshake. (A TLS 1.3
                        // ServerHello has decided already; a compatibility ChangeCipherSpec after a HelloRetryRequest
                        // comes before the real ServerHello and is skipped.)
                        Decide(true);
                    }
                    else if (_recordType != Handshake && _recordType != ChangeCipherSpec)
                    {
                        Decide(null);
                    }
                }

                continue;
            }

            int chunk = Math.Min(_recordRemaining, bytes.Length);
            if (_recordType == Handshake)
            {
                ReadHandshake(bytes[..chunk]);
            }

            _recordRemaining -= chunk;
            bytes = bytes[chunk..];
        }
    }

    /// <summary>Handshake messages may span records; this follows their 4-byte headers across them.</summary>
    private void ReadHandshake(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty && !Done)
        {
            if (_messageRemaining == 0)
            {
                int take = Math.Min(4 - _messageHeaderFill, bytes.Length);
                bytes[..take].CopyTo(_messageHeader.AsSpan(_messageHeaderFill));
                _messageHeaderFill += take;
                bytes = bytes[take..];
                if (_messageHeaderFill < 4)
                {
                    return;
                }

                _messageHeaderFill = 0;
                _messageRemaining = (_messageHeader[1] << 16) | (_messageHeader[2] << 8) | _messageHeader[3];
                switch (_messageHeader[0])
                {
                    case ServerHelloType when _messageRemaining is >= 38 and <= 16384:
                        _serverHello = new byte[_messageRemaining];
                        _serverHelloFill = 0;
                        break;
                    case CertificateType:
                        Decide(_sawServerHello ? false : null);
                        return;
                    case ServerHelloType:
                        Decide(null);
                        return;
                }

                continue;
            }

            int chunk = Math.Min(_messageRemaining, bytes.Length);
            if (_serverHello is { } hello)
            {
                bytes[..chunk].CopyTo(hello.AsSpan(_serverHelloFill));
                _serverHelloFill += chunk;
            }

            _messageRemaining -= chunk;
            bytes = bytes[chunk..];
            if (_messageRemaining == 0 && _serverHello is { } complete)
            {
                _serverHello = null;
                ReadServerHello(complete);
            }
        }
    }

    private void ReadServerHello(ReadOnlySpan<byte> hello)
    {
        // legacy_version(2) random(32) session_id<0..32> cipher_suite(2) compression(1) extensions<0..2^16-1>
        if (hello.Slice(2, 32).SequenceEqual(HelloRetryRandom))
        {
            return;
        }

        _sawServerHello = true;
        int at = 34;
        at += 1 + hello[at];
        at += 3;
        if (at + 2 > hello.Length)
        {
            return; // no extensions: TLS 1.2 without any; Certificate or ChangeCipherSpec decides.
        }

        int end = Math.Min(hello.Length, at + 2 + ((hello[at] << 8) | hello[at + 1]));
        at += 2;
        bool tls13 = false;
        bool psk = false;
        while (at + 4 <= end)
        {
            int type = (hello[at] << 8) | hello[at + 1];
            int length = (hello[at + 2] << 8) | hello[at + 3];
            tls13 |= type == SupportedVersions;
            psk |= type == PreSharedKey;
            at += 4 + length;
        }

        if (tls13)
        {
            // In TLS 1.3 everything after the ServerHello is encrypted: the ServerHello has to decide.
            Decide(psk);
        }
    }

    private void Decide(bool? resumed)
    {
        Resumed = resumed;
        _gaveUp = resumed is null;
        _serverHello = null;
    }
}
