namespace Fastsock.Http;

/// <summary>The HTTP versions the parser accepts; any other version is answered with 505.</summary>
public enum HttpVersion : byte
{
    Http10,
    Http11,
}
