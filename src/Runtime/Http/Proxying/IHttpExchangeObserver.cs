namespace Fastsock.Http.Proxying;

/// <summary>Told about each response head an <see cref="HttpExchangeForwarder"/> passes on, interim (1xx) ones included (for counting).</summary>
public interface IHttpExchangeObserver
{
    /// <summary>A response head with <paramref name="statusCode"/> was parsed and is being passed on to the client; runs on the worker, keep it short.</summary>
    void OnResponseHead(int statusCode);
}
