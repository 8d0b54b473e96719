namespace Fastsock.Http.Proxying;

/// <summary>Told about each response head an <see cref="HttpExchangeForwarder"/> passes on, interim (1xx) ones included (for counting).</summary>
public interface IHttpExchangeObserver
{
    void OnResponseHead(int statusCode);
}
