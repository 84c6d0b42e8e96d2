using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using BatchGuard.Analyzers.Tests.BuildTools;

namespace BatchGuard.Analyzers.Tests.Packaging;

/// <summary>What <c>dotnet pack</c> produces, checked in the .nupkg files themselves.</summary>
[Collection(RepositoryBuilds.Name)]
public sealed partial class PackageLayoutTests : IClassFixture<PackagesFixture>
{
    private static readonly string[] AnalyzerAssemblies =
        { "analyzers/dotnet/cs/BatchGuard.Analyzers.dll", "analyzers/dotnet/cs/BatchGuard.Analyzers.CodeFixes.dll" };

    /// <summary>The compiler in the .NET 8 SDK; an analyzer built against a newer one fails to load there (CS9057).</summary>
    private static readonly Version OldestSupportedRoslyn = new(4, 8, 0, 0);

    private readonly PackagesFixture _packages;

    public PackageLayoutTests(PackagesFixture packages) => _packages = packages;

    [Fact]
    public void Analyzers_package_holds_the_analyzer_and_code_fix_assemblies_under_analyzers_dotnet_cs_and_nothing_in_lib()
    {
        var entries = PackagesFixture.Entries(_packages.AnalyzersPackage);
        Assert.All(AnalyzerAssemblies, dll => Assert.Contains(dll, entries));
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.StartsWith("analyzers/", StringComparison.Ordinal) && !AnalyzerAssemblies.Contains(e));
    }

    [Fact]
    public void Analyzers_package_is_a_development_dependency_without_dependencies()
    {
        var metadata = Metadata(_packages.AnalyzersPackage);
        Assert.Equal("BatchGuard.Analyzers", Value(metadata, "id"));
        Assert.Equal("true", Value(metadata, "developmentDependency"));
        Assert.DoesNotContain(metadata.Descendants(), e => e.Name.LocalName == "dependency");
    }

    [Fact]
    public void Runtime_package_brings_the_analyzers_through_a_dependency_that_does_not_exclude_them()
    {
        var metadata = Metadata(_packages.RuntimePackage);
        Assert.Equal("BatchGuard", Value(metadata, "id"));
        var dependency = metadata.Descendants().Single(e => e.Name.LocalName == "dependency" && (string?)e.Attribute("id") == "BatchGuard.Analyzers");
        Assert.Equal(_packages.Version, (string?)dependency.Attribute("version"));
        var excluded = ((string?)dependency.Attribute("exclude") ?? "").Split(',', StringSplitOptions.TrimEntries);
        Assert.DoesNotContain("Analyzers", excluded, StringComparer.OrdinalIgnoreCase);

        var entries = PackagesFixture.Entries(_packages.RuntimePackage);
        Assert.Contains("lib/net8.0/BatchGuard.dll", entries);
        Assert.DoesNotContain(entries, e => e.Contains("BatchGuard.Analyzers", StringComparison.Ordinal));
    }

    [Fact]
    public void Packed_analyzers_reference_no_Roslyn_newer_than_the_dotnet_8_sdk_compiler()
    {
        foreach (var dll in AnalyzerAssemblies)
        {
            using var pe = new PEReader(new MemoryStream(PackagesFixture.Read(_packages.AnalyzersPackage, dll)));
            var reader = pe.GetMetadataReader();
            var roslyn = reader.AssemblyReferences.Select(reader.GetAssemblyReference)
                .Select(r => (name: reader.GetString(r.Name), r.Version))
                .Where(r => r.name.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
                .ToList();
            Assert.NotEmpty(roslyn);
            Assert.All(roslyn, r => Assert.True(r.Version <= OldestSupportedRoslyn, $"{dll} references {r.name} {r.Version}"));
        }
    }

    [Fact]
    public async Task A_project_that_references_only_the_runtime_package_gets_BatchGuard_warnings_at_build()
    {
        using var temp = new TempFolder("batchguard-consumer");
        var consumer = WriteNuGetConfig(temp.Path);
        WriteTrainingConsumer(consumer, "BatchGuard");

        var build = await DotNet.RunAsync(consumer, "build", "-c", "Release");

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("warning BG0006", build.Output);
    }

    [Fact]
    public void Cli_package_is_a_dotnet_tool_whose_command_is_batchguard()
    {
        // Packing the tool publishes it with everything it references (the runtime library, and through it the
        // analyzers package project and its ReadyToRun project), so this also guards those projects' publish.
        var entries = PackagesFixture.Entries(_packages.CliPackage);
        Assert.Contains("tools/net8.0/any/BatchGuard.Cli.dll", entries);
        Assert.Contains("tools/net8.0/any/BatchGuard.dll", entries);
        // The runtime library references the analyzers' packaging project only to depend on its package.
        Assert.DoesNotContain(entries, e => e.Contains("BatchGuard.Analyzers", StringComparison.Ordinal));
        var settings = XDocument.Parse(System.Text.Encoding.UTF8.GetString(
            PackagesFixture.Read(_packages.CliPackage, "tools/net8.0/any/DotnetToolSettings.xml")).TrimStart('\uFEFF'));
        var command = settings.Descendants("Command").Single();
        Assert.Equal("batchguard", (string?)command.Attribute("Name"));
        Assert.Equal("BatchGuard.Cli.dll", (string?)command.Attribute("EntryPoint"));
    }

    [Fact]
    public void Runtime_package_carries_the_TorchSharp_native_fix_for_its_consumers()
    {
        var entries = PackagesFixture.Entries(_packages.RuntimePackage);
        Assert.Contains("buildTransitive/BatchGuard.targets", entries);
        Assert.Contains("buildTransitive/WeakenGlibcxxRequirement.cs", entries);
    }

    [Fact]
    public async Task A_console_app_that_references_the_runtime_package_and_TorchSharp_cpu_trains_on_this_host()
    {
        using var temp = new TempFolder("batchguard-app");
        var app = WriteNuGetConfig(temp.Path);
        File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net8.0</TargetFramework>
                <OutputType>Exe</OutputType>
                <RollForward>Major</RollForward>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="BatchGuard" Version="{_packages.Version}" />
                <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using BatchGuard.Guard;
            using TorchSharp;
            using static TorchSharp.torch;

            var model = nn.Linear(4, 1);
            var optimizer = optim.SGD(model.parameters(), 0.1);
            using var guard = new TrainingGuard(model.parameters(), optimizer, new GuardOptions { Policy = GuardPolicy.Clip });
            var x = randn(64, 4);
            var y = x.sum(1, keepdim: true);
            for (var step = 0; step < 30; step++)
                guard.Step(nn.functional.mse_loss(model.forward(x), y), batchSize: 64);
            Console.WriteLine($"trained {guard.Steps} steps");
            """);

        // On a host whose libstdc++ lacks GLIBCXX_3.4.32 (Debian 12, Ubuntu 22.04) this only runs because the
        // package's buildTransitive targets patched the app's copy of libLibTorchSharp.so.
        var run = await DotNet.RunAsync(app, "run", "-c", "Release");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("trained 30 steps", run.Output);
    }

    /// <summary>
    /// Writes a library project that references <paramref name="package"/> (and TorchSharp, which the runtime package
    /// brings itself) with one training loop that clips after <c>step()</c>: BG0006.
    /// </summary>
    private void WriteTrainingConsumer(string folder, string package)
    {
        var torchSharp = package == "BatchGuard" ? "" : """<PackageReference Include="TorchSharp" Version="0.107.0" />""";
        File.WriteAllText(Path.Combine(folder, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net8.0</TargetFramework>
                <OutputType>Library</OutputType>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{package}" Version="{_packages.Version}" />
                {torchSharp}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Training.cs"), """
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Training
            {
                public static void Run(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y)
                {
                    var optimizer = optim.SGD(model.parameters(), 0.01);
                    for (var epoch = 0; epoch < 10; epoch++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.forward(x), y).backward();
                        optimizer.step();
                        nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                    }
                }
            }
            """);
    }

    /// <summary>
    /// Writes a nuget.config with a private packages folder (so a stale BatchGuard 0.1.0 is never reused; the user
    /// cache serves the rest) and returns the project folder beside it — outside the packages folder, whose .cs
    /// files would otherwise fall under the project's default Compile glob.
    /// </summary>
    private string WriteNuGetConfig(string folder)
    {
        var packagesCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <configuration>
              <config><add key="globalPackagesFolder" value="{Path.Combine(folder, "packages")}" /></config>
              <packageSources>
                <clear />
                <add key="batchguard" value="{_packages.Folder}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <fallbackPackageFolders><add key="cache" value="{packagesCache}" /></fallbackPackageFolders>
            </configuration>
            """);
        return Directory.CreateDirectory(Path.Combine(folder, "project")).FullName;
    }

    private static XElement Metadata(string package) =>
        PackagesFixture.Nuspec(package).Elements().Single(e => e.Name.LocalName == "metadata");

    private static string? Value(XElement metadata, string name) =>
        metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
}
