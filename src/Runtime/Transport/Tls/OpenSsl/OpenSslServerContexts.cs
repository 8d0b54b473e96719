using System.Net.Security;
using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// A layer's OpenSSL contexts, built once: one <c>SSL_CTX</c> per certificate, picked per ClientHello by the SNI
/// callback with <see cref="ServerNameTable{T}"/>'s rules, and the ALPN list every context answers with. Every SSL is
/// made from the default certificate's context and only switched by SSL_set_SSL_CTX, because OpenSSL keeps the session
/// cache and ticket keys of the context an SSL was made from: all certificates and all workers share one cache and one
/// set of ticket keys, so a session resumes whichever worker and certificate served it first.
/// </summary>
internal sealed unsafe class OpenSslServerContexts
{
    private readonly ServerNameTable<SslContextHandle> _table;
    private readonly SslApplicationProtocol[] _protocols;
    private readonly NativeMemoryBlock _alpn;
    private readonly NativeSelf _self;
    private long _callbackFailures;

    public OpenSslServerContexts(TlsServerOptions options)
    {
        var sessionIdContext = SslContextBuilder.SessionIdContext(options.SessionScope);
        _table = new ServerNameTable<SslContextHandle>(options, certificate => SslContextBuilder.Build(certificate, options.EnabledProtocols, sessionIdContext));
        _protocols = [.. options.ApplicationProtocols];
        _alpn = new NativeMemoryBlock(AlpnWireFormat(_protocols));
        _self = new NativeSelf(this);
        foreach (var context in _table.All)
        {
            IntPtr ctx = context.DangerousGetHandle();
            LibSsl.ContextCallbackCtrl(ctx, LibSsl.CtrlSetTlsextServerNameCallback, (IntPtr)(delegate* unmanaged<IntPtr, int*, IntPtr, int>)&OpenSslCallbacks.SelectCertificate);
            LibSsl.ContextCtrl(ctx, LibSsl.CtrlSetTlsextServerNameArgument, 0, _self.Pointer);
            if (_protocols.Length > 0)
            {
                // OpenSSL asks the context chosen by SNI, so every context answers ALPN the same way.
                LibSsl.ContextSetAlpnSelectCallback(ctx, &OpenSslCallbacks.SelectApplicationProtocol, _alpn.Pointer);
            }
        }

        // Shared keys, not OpenSSL's random ones per context, so a rebuilt layer or a successor decrypts the tickets.
        TicketKeySource = options.TicketKeys;
        options.TicketKeys?.Attach(this);
    }

    /// <summary>The layer's ticket keys (null: OpenSSL's random ones); the ticket key callback reads keys from a file here.</summary>
    internal TlsTicketKeys? TicketKeySource { get; }

    /// <summary>The context every SSL is made from (the default certificate's): it holds the shared session cache and ticket keys.</summary>
    public SslContextHandle SessionContext => _table.Default;

    /// <summary>Exceptions caught in the SNI callback (each failed its handshake with an alert).</summary>
    public long CallbackFailures => Interlocked.Read(ref _callbackFailures);

    internal ServerNameTable<SslContextHandle> Table => _table;

    internal void CountCallbackFailure() => Interlocked.Increment(ref _callbackFailures);

    /// <summary>
    /// Sets the ticket keys (<see cref="TlsTicketKeys"/>, 80 B) of every context. Tickets are sealed and opened with
    /// the session context's keys whichever certificate SNI picked; the others get them too, so none keeps a random key.
    /// </summary>
    internal void UseTicketKeys(byte[] keys)
    {
        fixed (byte* key = keys)
        {
            SetTicketKeys(SessionContext, key, keys.Length);
            foreach (var context in _table.All)
            {
                SetTicketKeys(context, key, keys.Length);
            }
        }
    }

    /// <summary>Keys from a file: every context seals and opens tickets through <see cref="TicketKeyCallback"/>.</summary>
    internal void UseTicketKeyCallback()
    {
        UseTicketKeyCallback(SessionContext);
        foreach (var context in _table.All)
        {
            UseTicketKeyCallback(context);
        }
    }

    private void UseTicketKeyCallback(SslContextHandle context)
    {
        IntPtr ctx = context.DangerousGetHandle();
        if (LibSsl.ContextSetExData(ctx, TicketKeyCallback.ContextsSlot, _self.Pointer) != 1
            || LibSsl.ContextSetTicketKeyCallback(ctx, &TicketKeyCallback.SealOrOpen) != 1)
        {
            throw new InvalidOperationException($"OpenSSL SSL_CTX_set_tlsext_ticket_key_evp_cb failed: {LibCrypto.LastErrorText()}; the process may be out of memory.");
        }
    }

    private static void SetTicketKeys(SslContextHandle context, byte* key, int length)
    {
        if (LibSsl.ContextCtrl(context.DangerousGetHandle(), LibSsl.CtrlSetTlsextTicketKeys, length, (IntPtr)key) != 1)
        {
            throw new InvalidOperationException($"OpenSSL SSL_CTX_set_tlsext_ticket_keys({length} B) failed: {LibCrypto.LastErrorText()}; the keys must be {LibSsl.TicketKeysLength} B.");
        }
    }

    /// <summary>The configured protocol whose name OpenSSL selected, without allocating; default when none or unknown.</summary>
    public SslApplicationProtocol Protocol(ReadOnlySpan<byte> selected)
    {
        if (selected.IsEmpty)
        {
            return default;
        }

        foreach (var protocol in _protocols)
        {
            if (protocol.Protocol.Span.SequenceEqual(selected))
            {
                return protocol;
            }
        }

        return new SslApplicationProtocol(selected.ToArray());
    }

    /// <summary>The contexts whose SNI callback argument points at <paramref name="pointer"/>.</summary>
    public static OpenSslServerContexts From(IntPtr pointer) => (OpenSslServerContexts)GCHandle.FromIntPtr(pointer).Target!;

    private static byte[] AlpnWireFormat(SslApplicationProtocol[] protocols)
    {
        int length = 0;
        foreach (var protocol in protocols)
        {
            length += 1 + protocol.Protocol.Length;
        }

        var wire = new byte[length];
        int at = 0;
        foreach (var protocol in protocols)
        {
            wire[at++] = (byte)protocol.Protocol.Length;
            protocol.Protocol.Span.CopyTo(wire.AsSpan(at));
            at += protocol.Protocol.Length;
        }

        return wire;
    }

    /// <summary>
    /// Native memory that OpenSSL may point into after a callback returns (ALPN's answer), freed with the layer. A
    /// finalizer rather than a SafeHandle: nothing native owns it, and connections keep the contexts alive while in use.
    /// </summary>
    internal sealed class NativeMemoryBlock
    {
        /// <summary>Copies <paramref name="bytes"/> after a 4-byte length, which is how the ALPN callback reads its argument.</summary>
        public NativeMemoryBlock(byte[] bytes)
        {
            Pointer = (IntPtr)NativeMemory.Alloc((nuint)(sizeof(uint) + bytes.Length));
            *(uint*)Pointer = (uint)bytes.Length;
            bytes.CopyTo(new Span<byte>((byte*)Pointer + sizeof(uint), bytes.Length));
        }

        ~NativeMemoryBlock() => NativeMemory.Free((void*)Pointer);

        public IntPtr Pointer { get; }
    }

    /// <summary>
    /// The handle the SNI callback finds the contexts by. Weak, so the contexts can be collected with their layer; a
    /// connection's handshake holds the contexts strongly, so the target is alive whenever OpenSSL calls back.
    /// </summary>
    private sealed class NativeSelf
    {
        private readonly GCHandle _handle;

        public NativeSelf(OpenSslServerContexts contexts) => _handle = GCHandle.Alloc(contexts, GCHandleType.Weak);

        ~NativeSelf() => _handle.Free();

        public IntPtr Pointer => GCHandle.ToIntPtr(_handle);
    }
}
