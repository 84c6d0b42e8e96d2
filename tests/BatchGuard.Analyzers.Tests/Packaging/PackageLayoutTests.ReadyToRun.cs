using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Text.RegularExpressions;
using BatchGuard.Analyzers.Tests.BuildTools;

namespace BatchGuard.Analyzers.Tests.Packaging;

/// <summary>
/// The precompiled (ReadyToRun) copies of the analyzer assembly: packed for each supported SDK and platform, chosen by
/// the package's targets for the build's compiler, and actually run precompiled by it (docs/performance.md).
/// </summary>
public sealed partial class PackageLayoutTests
{
    /// <summary>BatchGuardReadyToRunTargets in BatchGuard.Analyzers.Package.csproj: runtime major version / platform.</summary>
    private static readonly string[] ReadyToRunTargets =
        { "net8.0/linux-x64", "net8.0/win-x64", "net10.0/linux-x64", "net10.0/win-x64" };

    private const string PortableAnalyzer = "analyzers/dotnet/cs/BatchGuard.Analyzers.dll";

    [Fact]
    public void Analyzers_package_carries_a_ReadyToRun_image_of_the_same_analyzer_build_for_each_supported_SDK_and_platform()
    {
        var entries = PackagesFixture.Entries(_packages.AnalyzersPackage);
        var portable = Image(PortableAnalyzer);
        Assert.False(portable.IsReadyToRun, $"{PortableAnalyzer} must stay portable IL");

        Assert.Equal(
            ReadyToRunTargets.Select(t => $"readytorun/{t}/BatchGuard.Analyzers.dll").Order(),
            entries.Where(e => e.StartsWith("readytorun/", StringComparison.Ordinal)).Order());
        foreach (var target in ReadyToRunTargets)
        {
            var entry = $"readytorun/{target}/BatchGuard.Analyzers.dll";
            var image = Image(entry);
            Assert.True(image.IsReadyToRun, $"{entry} has no ReadyToRun header");
            // The same compilation of the same code as the portable assembly, only precompiled.
            Assert.Equal(portable.Mvid, image.Mvid);
            // A ReadyToRun image's machine field names its OS as well: AMD64, XOR-ed with 0x7B79 for Linux.
            var expectedMachine = target.EndsWith("linux-x64", StringComparison.Ordinal) ? 0x8664 ^ 0x7B79 : 0x8664;
            Assert.True(image.Machine == expectedMachine, $"{entry} is compiled for machine 0x{image.Machine:x}, not 0x{expectedMachine:x}");
        }
        Assert.Contains("build/BatchGuard.Analyzers.targets", entries);
        Assert.Contains("buildTransitive/BatchGuard.Analyzers.targets", entries);
    }

    [Fact]
    public async Task A_build_runs_the_ReadyToRun_analyzer_for_its_SDK_precompiled_and_one_that_opts_out_the_portable_one()
    {
        using var temp = new TempFolder("batchguard-readytorun");
        var consumer = WriteNuGetConfig(temp.Path);
        WriteTrainingConsumer(consumer, "BatchGuard.Analyzers");
        var target = await ReadyToRunTargetOf(consumer);

        var portable = await BuildWithJitLog(consumer, Path.Combine(temp.Path, "jit-portable.txt"), "-p:BatchGuardUseReadyToRunAnalyzer=false");
        var chosen = await BuildWithJitLog(consumer, Path.Combine(temp.Path, "jit.txt"));

        Assert.EndsWith(PortableAnalyzer, portable.Analyzer, StringComparison.Ordinal);
        if (!ReadyToRunTargets.Contains(target))
        {
            // No image for this SDK or platform: the portable assembly, as NuGet added it.
            Assert.EndsWith(PortableAnalyzer, chosen.Analyzer, StringComparison.Ordinal);
            return;
        }
        Assert.EndsWith($"readytorun/{target}/BatchGuard.Analyzers.dll", chosen.Analyzer, StringComparison.Ordinal);
        // Precompiled code runs as is (hot methods are re-compiled later, at tier 1); a runtime that rejects the image
        // (e.g. one compiled for another runtime version) JIT-compiles at tier 0 as many methods as the portable build.
        Assert.True(portable.Tier0.Count > 50, $"the portable build JIT-compiled only {portable.Tier0.Count} of BatchGuard's methods");
        Assert.True(chosen.Tier0.Count * 20 < portable.Tier0.Count,
            $"{chosen.Analyzer} was not run precompiled: {chosen.Tier0.Count} of its methods were JIT-compiled at tier 0 " +
            $"(portable: {portable.Tier0.Count}), e.g.\n{string.Join("\n", chosen.Tier0.Take(3))}");
    }

    [Theory]
    [InlineData("DesignTimeBuild")]
    [InlineData("BuildingInsideVisualStudio")]
    [InlineData("BuildingByReSharper")]
    public async Task An_IDE_build_keeps_the_portable_analyzer(string ideProperty)
    {
        using var temp = new TempFolder("batchguard-ide");
        var consumer = WriteNuGetConfig(temp.Path);
        WriteTrainingConsumer(consumer, "BatchGuard.Analyzers");

        var analyzers = await AnalyzerItems(consumer, $"-p:{ideProperty}=true");
        var commandLine = await AnalyzerItems(consumer);

        Assert.Contains(analyzers, a => a.EndsWith(PortableAnalyzer, StringComparison.Ordinal));
        Assert.DoesNotContain(analyzers, a => a.Contains("/readytorun/", StringComparison.Ordinal));
        // The same evaluation without the IDE's property swaps (on an SDK and platform the package has an image for).
        var target = await ReadyToRunTargetOf(consumer);
        var expected = ReadyToRunTargets.Contains(target) ? $"readytorun/{target}/BatchGuard.Analyzers.dll" : PortableAnalyzer;
        Assert.Single(commandLine, a => a.EndsWith(expected, StringComparison.Ordinal));
    }

    /// <summary>The image the package's targets must choose: net&lt;the SDK's runtime major&gt;.0/&lt;the SDK's portable platform&gt;.</summary>
    private static async Task<string> ReadyToRunTargetOf(string consumer)
    {
        var sdk = await DotNet.RunAsync(consumer, "msbuild", "Consumer.csproj", "-getProperty:BundledNETCoreAppTargetFrameworkVersion",
            "-getProperty:NETCoreSdkPortableRuntimeIdentifier");
        Assert.True(sdk.ExitCode == 0, sdk.ToString());
        var properties = JsonDocument.Parse(sdk.Output).RootElement.GetProperty("Properties");
        return $"net{properties.GetProperty("BundledNETCoreAppTargetFrameworkVersion").GetString()}/" +
               properties.GetProperty("NETCoreSdkPortableRuntimeIdentifier").GetString();
    }

    /// <summary>The Analyzer items after the package's swap (ResolveLockFileAnalyzers and what runs after it).</summary>
    private static async Task<List<string>> AnalyzerItems(string consumer, params string[] extra)
    {
        var result = await DotNet.RunAsync(consumer, ["msbuild", "Consumer.csproj", "-restore", "-t:ResolveLockFileAnalyzers", "-getItem:Analyzer", .. extra]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Output[result.Output.IndexOf('{')..];
        return JsonDocument.Parse(json).RootElement.GetProperty("Items").GetProperty("Analyzer").EnumerateArray()
            .Select(i => i.GetProperty("FullPath").GetString()!.Replace('\\', '/')).ToList();
    }

    /// <summary>
    /// Builds the consumer with the runtime listing every method it JIT-compiles (in every process of the build, csc
    /// included: the tests build without the compiler server); returns the BatchGuard.Analyzers.dll the compiler was
    /// given and BatchGuard's methods JIT-compiled at tier 0.
    /// </summary>
    private static async Task<(string Analyzer, List<string> Tier0)> BuildWithJitLog(string consumer, string jitLog, params string[] extra)
    {
        var environment = new Dictionary<string, string> { ["DOTNET_JitDisasmSummary"] = "1", ["DOTNET_JitStdOutFile"] = jitLog };
        var build = await DotNet.RunAsync(consumer, environment, ["build", "-c", "Release", "-v:n", "--no-incremental", .. extra]);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("warning BG0006", build.Output);
        var analyzer = Assert.Single(CompilerAnalyzers(build.Output), a => a.EndsWith("BatchGuard.Analyzers.dll", StringComparison.Ordinal));
        Assert.True(File.Exists(jitLog), $"the runtime wrote no JIT log ({jitLog}): DOTNET_JitStdOutFile unsupported?");
        var lines = File.ReadAllLines(jitLog);
        Assert.Contains(lines, l => l.Contains("JIT compiled Microsoft.CodeAnalysis.", StringComparison.Ordinal)); // csc wrote to it
        var tier0 = lines.Where(l => l.Contains("JIT compiled BatchGuard.", StringComparison.Ordinal) &&
                                     Regex.IsMatch(l, @"\[(Instrumented )?Tier0\b")).ToList();
        return (analyzer.Replace('\\', '/'), tier0);
    }

    /// <summary>The analyzer paths on the compiler's command line (printed by the Csc task at normal verbosity).</summary>
    private static IEnumerable<string> CompilerAnalyzers(string buildOutput) =>
        Regex.Matches(buildOutput, @"/analyzer:(?:""(?<path>[^""]+)""|(?<path>\S+))").Select(m => m.Groups["path"].Value).Distinct();

    private (bool IsReadyToRun, Guid Mvid, int Machine) Image(string entry)
    {
        using var pe = new PEReader(new MemoryStream(PackagesFixture.Read(_packages.AnalyzersPackage, entry)));
        var reader = pe.GetMetadataReader();
        return (pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0,
            reader.GetGuid(reader.GetModuleDefinition().Mvid),
            (int)pe.PEHeaders.CoffHeader.Machine);
    }
}
