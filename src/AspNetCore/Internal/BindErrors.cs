using System.Net;
using System.Net.Sockets;
using Fastsock.Native;
using Microsoft.AspNetCore.Connections;

namespace Fastsock.AspNetCore.Internal;

/// <summary>
/// Bind failures in the shapes Kestrel expects: <see cref="AddressInUseException"/> for a port in use (Kestrel prints
/// "Failed to bind to address …: address already in use"), a <see cref="SocketException"/> for an address that is not
/// local (Kestrel skips an unavailable IPv6 loopback for <c>localhost</c> and goes on with IPv4).
/// </summary>
internal static class BindErrors
{
    public static T Translate<T>(EndPoint endPoint, Func<T> bind)
    {
        try
        {
            return bind();
        }
        catch (NativeCallException ex) when (ex.Errno == Errno.EADDRINUSE)
        {
            throw new AddressInUseException($"{endPoint} is in use by another socket: {ex.Message}", ex);
        }
        catch (NativeCallException ex) when (ex.Errno == Errno.EADDRNOTAVAIL)
        {
            throw new SocketException((int)SocketError.AddressNotAvailable, ex.Message);
        }
    }
}
