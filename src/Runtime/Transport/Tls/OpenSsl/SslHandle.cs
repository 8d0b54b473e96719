using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>An <c>SSL*</c> with the two memory BIOs given to it by SSL_set_bio: SSL_free frees all three, once.</summary>
internal sealed class SslHandle : SafeHandle
{
    public SslHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of <paramref name="ssl"/>.</summary>
    public static SslHandle Own(IntPtr ssl)
    {
        var owned = new SslHandle();
        owned.SetHandle(ssl);
        return owned;
    }

    protected override bool ReleaseHandle()
    {
        LibSsl.Free(handle);
        return true;
    }
}
