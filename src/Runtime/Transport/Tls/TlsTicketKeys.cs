using System.Security.Cryptography;
using Fastsock.Transport.Tls.OpenSsl;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The key OpenSSL-engine layers encrypt and decrypt session tickets with (TLS 1.3 and TLS 1.2 tickets): 80 random
/// bytes (OpenSSL's key name, HMAC secret and AES key). A layer without one (<see cref="TlsServerOptions.TicketKeys"/>
/// null) gets a random key of its own, so its tickets die with it. Layers given the same object share its key: a
/// layer rebuilt on a config reload resumes the tickets its predecessor issued, and a server that hands its listening
/// sockets over (<c>ListenerHandoverOptions.TicketKeys</c>) passes the key to its successor, so a
/// takeover costs no client a full handshake either. The SslStream engine cannot be given keys and ignores this.
/// </summary>
public sealed class TlsTicketKeys
{
    internal const int Length = LibSsl.TicketKeysLength;

    // Pinned: the collector never leaves copies of the key behind in memory it compacts away.
    private readonly byte[] _key = GC.AllocateArray<byte>(Length, pinned: true);
    private readonly Lock _gate = new();
    private readonly List<WeakReference<OpenSslServerContexts>> _users = [];

    /// <summary>A new random key.</summary>
    public TlsTicketKeys() => RandomNumberGenerator.Fill(_key);

    /// <summary>Gives <paramref name="contexts"/> the key now, and again whenever <see cref="Replace"/> changes it.</summary>
    internal void Attach(OpenSslServerContexts contexts)
    {
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
}
