namespace Fastsock.Samples.Proxy.Config;

/// <summary>What runs without --config: a frontend on 127.0.0.1:8080 in front of the built-in in-process app <c>hello</c>
/// (<see cref="DemoHelloApp"/>, registered through the runtime's <c>InProcessApps</c>).</summary>
internal static class DemoConfig
{
    public const string Source = "(built-in demo)";

    public static ProxyConfig Raw() => new()
    {
        Frontends = [new FrontendConfig { Name = "demo", Bind = ["127.0.0.1:8080"], Mode = "http", Backend = "hello" }],
        Backends = [new BackendConfig { Name = "hello", Servers = [new ServerConfig { Name = "hello", Address = "inproc:hello" }] }],
    };
}
