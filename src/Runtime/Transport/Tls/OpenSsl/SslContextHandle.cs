using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>An <c>SSL_CTX*</c>, freed once when the last reference goes (SSL objects made from it hold their own).</summary>
internal sealed class SslContextHandle : SafeHandle
{
    public SslContextHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of <paramref name="context"/>.</summary>
    public static SslContextHandle Own(IntPtr context)
    {
        var owned = new SslContextHandle();
        owned.SetHandle(context);
        return owned;
    }

    protected override bool ReleaseHandle()
    {
        LibSsl.ContextFree(handle);
        return true;
    }
}
