using System.IO.Compression;
using System.Xml.Linq;
using BatchGuard.Analyzers.Tests.BuildTools;

namespace BatchGuard.Analyzers.Tests.Packaging;

/// <summary>Runs <c>dotnet pack</c> once for the analyzers package, the runtime package and the CLI tool, into a temp folder.</summary>
public sealed class PackagesFixture : IAsyncLifetime
{
    public const string AnalyzersProject = "analyzers/BatchGuard.Analyzers.Package/BatchGuard.Analyzers.Package.csproj";
    public const string RuntimeProject = "src/BatchGuard/BatchGuard.csproj";
    public const string CliProject = "src/BatchGuard.Cli/BatchGuard.Cli.csproj";

    private readonly TempFolder _output = new("batchguard-pack");

    public string Folder => _output.Path;
    public string Version { get; private set; } = "";
    public string AnalyzersPackage => Path.Combine(Folder, $"BatchGuard.Analyzers.{Version}.nupkg");
    public string RuntimePackage => Path.Combine(Folder, $"BatchGuard.{Version}.nupkg");
    public string CliPackage => Path.Combine(Folder, $"BatchGuard.Cli.{Version}.nupkg");

    public async Task InitializeAsync()
    {
        foreach (var project in new[] { AnalyzersProject, RuntimeProject, CliProject })
        {
            var pack = await DotNet.RunAsync(Repository.Root, "pack", project, "-c", "Release", "-o", Folder);
            Assert.True(pack.ExitCode == 0, $"dotnet pack {project} failed: {pack}");
        }
        var analyzers = Directory.GetFiles(Folder, "BatchGuard.Analyzers.*.nupkg").Single();
        Version = Path.GetFileNameWithoutExtension(analyzers)["BatchGuard.Analyzers.".Length..];
    }

    public Task DisposeAsync()
    {
        _output.Dispose();
        return Task.CompletedTask;
    }

    public static IReadOnlyList<string> Entries(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName).ToList();
    }

    public static XElement Nuspec(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var stream = entry.Open();
        return XDocument.Load(stream).Root!;
    }

    public static byte[] Read(string package, string entryName)
    {
        using var zip = ZipFile.OpenRead(package);
        using var stream = zip.GetEntry(entryName)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
