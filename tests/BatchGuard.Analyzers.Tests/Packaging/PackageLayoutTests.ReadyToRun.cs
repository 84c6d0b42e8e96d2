using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
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
    public async Task A_build_compiles_with_the_ReadyToRun_analyzer_for_its_SDK_and_JIT_compiles_none_of_its_methods()
    {
        using var temp = new TempFolder("batchguard-readytorun");
        var consumer = WriteNuGetConfig(temp.Path);
        WriteTrainingConsumer(consumer, "BatchGuard.Analyzers");
        var jitLog = Path.Combine(temp.Path, "jit.txt");
        var runtimeDiagnostics = new Dictionary<string, string>
        {
            // The runtime lists every method it JIT-compiles, in every process of the build (csc included: the
            // tests build without the compiler server).
            ["DOTNET_JitDisasmSummary"] = "1",
            ["DOTNET_JitStdOutFile"] = jitLog,
        };

        var build = await DotNet.RunAsync(consumer, runtimeDiagnostics, "build", "-c", "Release", "-v:n");

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("warning BG0006", build.Output);
        var analyzer = Assert.Single(CompilerAnalyzers(build.Output), a => a.EndsWith("BatchGuard.Analyzers.dll", StringComparison.Ordinal));
        var sdk = await DotNet.RunAsync(consumer, "--version");
        var expected = $"readytorun/net{sdk.Output.Trim().Split('.')[0]}.0/{RuntimeInformation.RuntimeIdentifier}/";
        if (!ReadyToRunTargets.Any(t => expected.Contains(t, StringComparison.Ordinal)))
        {
            // No image for this SDK or platform: the portable assembly, as NuGet added it.
            Assert.EndsWith(PortableAnalyzer, analyzer.Replace('\\', '/'), StringComparison.Ordinal);
            return;
        }
        Assert.Contains(expected, analyzer.Replace('\\', '/'), StringComparison.Ordinal);
        // Precompiled code is used as is; only hot methods are re-compiled later, at tier 1. A Tier0 entry for one of
        // BatchGuard's methods means the runtime rejected the image (e.g. one compiled for another runtime version).
        var jitLines = File.ReadAllLines(jitLog);
        Assert.Contains(jitLines, l => l.Contains("JIT compiled Microsoft.CodeAnalysis.", StringComparison.Ordinal)); // csc wrote to it
        var tier0 = jitLines.Where(l => l.Contains("JIT compiled BatchGuard.", StringComparison.Ordinal) &&
                                        Regex.IsMatch(l, @"\[(Instrumented )?Tier0\b")).ToList();
        Assert.True(tier0.Count == 0,
            $"{analyzer} was not run precompiled: {tier0.Count} of its methods were JIT-compiled, e.g.\n{string.Join("\n", tier0.Take(3))}");
    }

    [Fact]
    public async Task A_build_that_opts_out_compiles_with_the_portable_analyzer()
    {
        using var temp = new TempFolder("batchguard-portable");
        var consumer = WriteNuGetConfig(temp.Path);
        WriteTrainingConsumer(consumer, "BatchGuard.Analyzers");

        var build = await DotNet.RunAsync(consumer, "build", "-c", "Release", "-v:n", "-p:BatchGuardUseReadyToRunAnalyzer=false");

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("warning BG0006", build.Output);
        var analyzer = Assert.Single(CompilerAnalyzers(build.Output), a => a.EndsWith("BatchGuard.Analyzers.dll", StringComparison.Ordinal));
        Assert.EndsWith(PortableAnalyzer, analyzer.Replace('\\', '/'), StringComparison.Ordinal);
    }

    /// <summary>The analyzer paths on the compiler's command line (printed by the Csc task at normal verbosity).</summary>
    private static IEnumerable<string> CompilerAnalyzers(string buildOutput) =>
        Regex.Matches(buildOutput, @"/analyzer:(\S+)").Select(m => m.Groups[1].Value).Distinct();

    private (bool IsReadyToRun, Guid Mvid, int Machine) Image(string entry)
    {
        using var pe = new PEReader(new MemoryStream(PackagesFixture.Read(_packages.AnalyzersPackage, entry)));
        var reader = pe.GetMetadataReader();
        return (pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0,
            reader.GetGuid(reader.GetModuleDefinition().Mvid),
            (int)pe.PEHeaders.CoffHeader.Machine);
    }
}
