using System.IO.Compression;
using System.Xml.Linq;

namespace Fastsock.Tests.Packaging;

/// <summary>
/// The runtime as users get it: packed, restored from a folder feed into an app that knows nothing of this repository
/// (eng/package-consumer-test.sh with tests/PackageConsumer), and its public API held by the PublicAPI analyzer.
/// </summary>
[Trait("Category", "Slow")] // packs and builds with the SDK: skip with --filter Category!=Slow
public sealed class PackageConsumerTests
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Packed_runtime_carries_docs_readme_license_and_symbols_and_an_app_restoring_it_from_a_folder_feed_answers_http()
    {
        string repo = BuildProcess.RepositoryRoot();
        var work = Directory.CreateTempSubdirectory("fastsock-package-consumer-");
        try
        {
            var (exit, output) = await BuildProcess.RunAsync(
                "bash", ["eng/package-consumer-test.sh", "--out", work.FullName, "--version", "0.1.0-ci"], repo, BuildTimeout);

            Assert.True(exit == 0, $"eng/package-consumer-test.sh failed ({exit}):\n{output}");
            Assert.Contains("consumer answered: Hello from Fastsock.Runtime: worker ", output, StringComparison.Ordinal);
            Assert.Contains("consumer stopped (exit 0)", output, StringComparison.Ordinal);

            string feed = Path.Combine(work.FullName, "feed");
            using (var package = ZipFile.OpenRead(Path.Combine(feed, "Fastsock.Runtime.0.1.0-ci.nupkg")))
            {
                var entries = package.Entries.Select(e => e.FullName).ToHashSet();
                Assert.Superset(new HashSet<string> { "lib/net10.0/Fastsock.Runtime.dll", "lib/net10.0/Fastsock.Runtime.xml", "README.md" }, entries);

                using var nuspecStream = package.GetEntry("Fastsock.Runtime.nuspec")!.Open();
                var metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
                string Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
                Assert.Equal("Fastsock.Runtime", Field("id"));
                Assert.Equal("MIT", Field("license"));
                Assert.Equal("README.md", Field("readme"));
                Assert.NotEmpty(Field("description"));
                Assert.NotEmpty(Field("authors"));
            }

            using var symbols = ZipFile.OpenRead(Path.Combine(feed, "Fastsock.Runtime.0.1.0-ci.snupkg"));
            Assert.Contains(symbols.Entries, e => e.FullName == "lib/net10.0/Fastsock.Runtime.pdb");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Public_type_missing_from_the_recorded_api_fails_the_build()
    {
        string repo = BuildProcess.RepositoryRoot();
        var work = Directory.CreateTempSubdirectory("fastsock-public-api-");
        try
        {
            string source = Path.Combine(work.FullName, "repo");
            CopyPackageSources(repo, source);
            File.WriteAllText(
                Path.Combine(source, "src", "Runtime", "Locality", "UnrecordedProbe.cs"),
                """
                namespace Fastsock.Locality;

                /// <summary>A public type nobody recorded in PublicAPI.*.txt.</summary>
                public static class UnrecordedProbe
                {
                    /// <summary>Anything.</summary>
                    public static int Answer => 42;
                }
                """);

            var (exit, output) = await BuildProcess.RunAsync(
                "dotnet", ["build", "src/Runtime/Fastsock.Runtime.csproj", "-c", "Release", "-nologo", "-v", "q", "-warnaserror"], source, BuildTimeout);

            Assert.True(exit != 0, $"the build passed with an unrecorded public type:\n{output}");
            Assert.Contains("error RS0016: Symbol 'Fastsock.Locality.UnrecordedProbe' is not part of the declared public API", output, StringComparison.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>What building the runtime reads: the Directory.* build files (root and src/), the license and src/Runtime, without build outputs.</summary>
    private static void CopyPackageSources(string repo, string to)
    {
        Directory.CreateDirectory(Path.Combine(to, "src"));
        foreach (string folder in new[] { "", "src" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(repo, folder), "Directory.*"))
            {
                File.Copy(file, Path.Combine(to, folder, Path.GetFileName(file)));
            }
        }

        File.Copy(Path.Combine(repo, "LICENSE"), Path.Combine(to, "LICENSE"));

        BuildProcess.CopySources(Path.Combine(repo, "src", "Runtime"), Path.Combine(to, "src", "Runtime"));
    }
}
