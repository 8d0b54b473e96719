using System.Text.Json.Serialization;

namespace Fastsock.Samples.AspNetCore;

[JsonSerializable(typeof(Greeting))]
[JsonSerializable(typeof(LocalityStats))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class SampleJsonContext : JsonSerializerContext;
