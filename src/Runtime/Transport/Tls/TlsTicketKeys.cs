using System.Security.Cryptography;
using Fastsock.Transport.Tls.OpenSsl;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The key OpenSSL-engine layers encrypt and decrypt session tickets with (TLS 1.3 and TLS 1.2 tickets): 80 random
/// bytes (OpenSSL's key name, HMAC secret and AES key). A layer without one (<see cref="TlsServerOptions.TicketKeys"/>
/// null) gets a random key of its own, so its tickets die with it. Layers given the same object share its key: a
/// layer rebuilt on a config reload resumes the tickets its predecessor issued, and a server that hands its listening
/// sockets over (<c>ListenerHandoverOptions.TicketKeys</c>) passes the key to its successor, so a
/// takeover costs no client a full handshake either. Keys read from a file (<see cref="FromFile"/>, HAProxy's
/// <c>tls-ticket-keys</c> format) are shared across machines instead. The SslStream engine cannot be given keys and
/// ignores this.
/// </summary>
public sealed class TlsTicketKeys
{
    internal const int Length = LibSsl.TicketKeysLength;

    // Pinned: the collector never leaves copies of the key behind in memory it compacts away.
    private readonly byte[] _key = GC.AllocateArray<byte>(Length, pinned: true);
    private readonly Lock _gate = new();
    private readonly List<WeakReference<OpenSslServerContexts>> _users = [];

    // From a file: the last three keys, HAProxy's layout (16 B name, AES key, HMAC key); the middle one seals.
    private readonly byte[][]? _ring;

    /// <summary>A new random key (from the kernel: a process that never speaks TLS does not load OpenSSL to make it).</summary>
    public TlsTicketKeys() => Native.RandomCalls.Fill(_key);

    private TlsTicketKeys(byte[][] ring) => _ring = ring;

    /// <summary>
    /// Keys from a file in HAProxy's <c>tls-ticket-keys</c> format, for servers (here or HAProxy) that must resume each
    /// other's tickets: one base64 key per line, all of 80 B (AES-256) or all of 48 B (AES-128), at least three. The
    /// last three are used: the second to last seals new tickets, all three open them (a ticket opened under another
    /// than the sealing key is renewed). Rotate by appending a key and reloading. Keys from a file are not handed over
    /// (each process reads the file).
    /// </summary>
    /// <exception cref="ArgumentException">The file does not hold such keys; the message names the file and the line.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static TlsTicketKeys FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var keys = new List<byte[]>();
        int number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            var text = line.Trim();
            if (text.Length == 0)
            {
                continue;
            }

            var key = GC.AllocateArray<byte>(Length, pinned: true);
            if (!Convert.TryFromBase64String(text, key, out int length) || (length != Length && length != ShortLength))
            {
                throw new ArgumentException($"TLS ticket keys file '{path}' line {number} is not a base64 key of {Length} or {ShortLength} B; write one per line, e.g. with `openssl rand 80 | openssl base64 -A`.");
            }

            if (keys.Count > 0 && length != keys[0].Length)
            {
                throw new ArgumentException($"TLS ticket keys file '{path}' line {number} holds a {length} B key after {keys[0].Length} B ones; use keys of one length.");
            }

            var kept = GC.AllocateArray<byte>(length, pinned: true);
            key.AsSpan(0, length).CopyTo(kept);
            CryptographicOperations.ZeroMemory(key);
            keys.Add(kept);
        }

        if (keys.Count < RingLength)
        {
            throw new ArgumentException($"TLS ticket keys file '{path}' holds {keys.Count} keys; give at least {RingLength} (the last {RingLength} are used: the second to last seals new tickets, all open them).");
        }

        return new TlsTicketKeys([.. keys[^RingLength..]]);
    }

    private const int RingLength = 3;
    private const int ShortLength = 48;

    /// <summary>Keys from a file: sealed and opened by OpenSSL's ticket key callback, never handed over.</summary>
    internal bool FromKeyFile => _ring is not null;

    /// <summary>The key new tickets are sealed with (from a file).</summary>
    internal ReadOnlySpan<byte> SealingKey => _ring![1];

    /// <summary>The file's key named <paramref name="name"/> (empty: none); <paramref name="sealing"/> when it is the sealing key.</summary>
    internal ReadOnlySpan<byte> Find(ReadOnlySpan<byte> name, out bool sealing)
    {
        var ring = _ring!;
        for (int i = 0; i < ring.Length; i++)
        {
            if (ring[i].AsSpan(0, name.Length).SequenceEqual(name))
            {
                sealing = i == 1;
                return ring[i];
            }
        }

        sealing = false;
        return default;
    }

    /// <summary>Gives <paramref name="contexts"/> the key now, and again whenever <see cref="Replace"/> changes it.</summary>
    internal void Attach(OpenSslServerContexts contexts)
    {
        if (_ring is not null)
        {
            contexts.UseTicketKeyCallback();
            return;
        }

        lock (_gate)
        {
            _users.RemoveAll(static user => !user.TryGetTarget(out _));
            _users.Add(new WeakReference<OpenSslServerContexts>(contexts));
            contexts.UseTicketKeys(_key);
        }
    }

    /// <summary>Copies the key into <paramref name="destination"/> (<see cref="Length"/> bytes), for a successor process.</summary>
    internal void CopyTo(Span<byte> destination)
    {
        ThrowIfFromKeyFile();
        lock (_gate)
        {
            _key.CopyTo(destination);
        }
    }

    /// <summary>
    /// Takes a predecessor's key and gives it to every layer built with this object. Called before those layers serve
    /// (a takeover replaces it before the first connection is accepted): OpenSSL reads the key without a lock.
    /// </summary>
    internal void Replace(ReadOnlySpan<byte> key)
    {
        if (key.Length != Length)
        {
            throw new ArgumentException($"TLS ticket keys are {key.Length} B, not the {Length} B OpenSSL uses (16 B name, 32 B HMAC secret, 32 B AES key).", nameof(key));
        }

        ThrowIfFromKeyFile();
        lock (_gate)
        {
            key.CopyTo(_key);
            foreach (var user in _users)
            {
                if (user.TryGetTarget(out var contexts))
                {
                    contexts.UseTicketKeys(_key);
                }
            }
        }
    }

    private void ThrowIfFromKeyFile()
    {
        if (_ring is not null)
        {
            throw new InvalidOperationException("TLS ticket keys read from a file are not handed over: each process reads the file; give ListenerHandoverOptions.TicketKeys a new TlsTicketKeys() instead.");
        }
    }
}
