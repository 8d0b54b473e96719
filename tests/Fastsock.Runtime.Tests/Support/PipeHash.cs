using System.IO.Pipelines;
using System.Security.Cryptography;

namespace Fastsock.Tests.Support;

/// <summary>What a pipe delivered up to its end, in a form two sides of a transfer can compare: length and SHA-256.</summary>
internal static class PipeHash
{
    public static async Task<(long Bytes, byte[] Hash)> HashToEndAsync(PipeReader input)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long total = 0;
        while (true)
        {
            var result = await input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                hash.AppendData(segment.Span);
            }

            total += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return (total, hash.GetHashAndReset());
            }
        }
    }
}
