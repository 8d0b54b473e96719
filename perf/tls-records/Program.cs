// CPU per keep-alive TLS exchange on the server after one in-memory handshake: decrypt a 100 B request record and
// encrypt a 154 B response record, (a) with SslStream as the runtime's TLS layer drives it and (b) with libssl directly
// through LibraryImport over memory BIOs. Same OpenSSL underneath, same certificate (ECDSA P-256), same protocol and
// cipher: the difference is what SslStream and its interop add. Batches of each alternate so machine noise hits both;
// the server's work is timed with the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID), the client's is not timed.
// Usage: dotnet run -c Release --project perf/tls-records [-- EXCHANGES_PER_BATCH BATCHES WARMUP_SECONDS]
// (first argument `handshakes`: server CPU per TLS handshake instead, see HandshakeBench.cs)
using System.Diagnostics;
using System.Globalization;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Perf.TlsRecords;

if (args.Length > 0 && args[0] == "handshakes")
{
    HandshakeBench.Run(args[1..]); // server CPU per handshake: see HandshakeBench.cs
    return;
}

int perBatch = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
int batches = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
double warmUpSeconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 4;

using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
string directory = Directory.CreateTempSubdirectory("tls-records-").FullName;
string certificatePem = Path.Combine(directory, "cert.pem");
string keyPem = Path.Combine(directory, "key.pem");
File.WriteAllText(certificatePem, certificate.ExportCertificatePem());
File.WriteAllText(keyPem, key.ExportPkcs8PrivateKeyPem());
using var serverCertificate = X509Certificate2.CreateFromPem(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());

Console.WriteLine($"{perBatch:N0} exchanges per batch, {batches} measured batches per implementation after {warmUpSeconds} s of warm-up; " +
    $"request {Payload.Request.Length} B, response {Payload.Response.Length} B; server CPU ns per exchange (thread CPU clock)");
try
{
    foreach (var (protocol, version) in new[] { (SslProtocols.Tls13, 0x0304), (SslProtocols.Tls12, 0x0303) })
    {
        using var sslStream = await SslStreamExchange.CreateAsync(serverCertificate, protocol);
        using var libSsl = new LibSslExchange(certificatePem, keyPem, version);
        IExchange[] exchanges = [sslStream, libSsl];
        var warmUp = Stopwatch.StartNew();
        while (warmUp.Elapsed.TotalSeconds < warmUpSeconds)
        {
            foreach (var exchange in exchanges)
            {
                await MeasureAsync(exchange, perBatch);
            }
        }

        var results = exchanges.ToDictionary(e => e, _ => new List<double>());
        for (int batch = 0; batch < batches; batch++)
        {
            foreach (var exchange in exchanges)
            {
                results[exchange].Add(await MeasureAsync(exchange, perBatch));
            }
        }

        foreach (var exchange in exchanges)
        {
            var ns = results[exchange];
            ns.Sort();
            Console.WriteLine($"{protocol}: {exchange.Name,-20} {exchange.Negotiated,-40} median {ns[ns.Count / 2],7:F0} ns/exchange (min {ns[0]:F0}, max {ns[^1]:F0})");
        }

        Console.WriteLine($"{protocol}: SslStream / libssl = {Median(results[sslStream]) / Median(results[libSsl]):F2}x, " +
            $"difference {Median(results[sslStream]) - Median(results[libSsl]):F0} ns per exchange");
    }
}
finally
{
    Directory.Delete(directory, recursive: true);
}

static double Median(List<double> sorted) => sorted[sorted.Count / 2];

// One batch: the client prepares the requests (not timed), the server answers them (timed), the client checks.
static async Task<double> MeasureAsync(IExchange exchange, int count)
{
    await exchange.PrepareAsync(count);
    int thread = Environment.CurrentManagedThreadId;
    long start = ThreadCpu.Nanoseconds();
    var serve = exchange.ServeAsync(count);
    long end = ThreadCpu.Nanoseconds();
    if (!serve.IsCompletedSuccessfully || Environment.CurrentManagedThreadId != thread)
    {
        // Everything here completes synchronously; a batch that went async would be timed on the wrong thread.
        throw new InvalidOperationException($"{exchange.Name}: the server's batch did not complete synchronously on its thread");
    }

    await exchange.VerifyAsync(count);
    return (end - start) / (double)count;
}
