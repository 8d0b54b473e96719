using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// A pointer OpenSSL gave us and we free once, when the last reference goes; each kind says only which free call.
/// </summary>
internal abstract class OpenSslHandle : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="pointer"/>.</summary>
    private protected OpenSslHandle(IntPtr pointer)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(pointer);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;
}

/// <summary>An <c>SSL_CTX*</c>, freed once when the last reference goes (SSL objects made from it hold their own).</summary>
internal sealed class SslContextHandle(IntPtr context) : OpenSslHandle(context)
{
    protected override bool ReleaseHandle()
    {
        LibSsl.ContextFree(handle);
        return true;
    }
}

/// <summary>An <c>SSL*</c> with the two memory BIOs given to it by SSL_set_bio: SSL_free frees all three, once.</summary>
internal sealed class SslHandle(IntPtr ssl) : OpenSslHandle(ssl)
{
    protected override bool ReleaseHandle()
    {
        LibSsl.Free(handle);
        return true;
    }
}
