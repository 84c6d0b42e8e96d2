// Times BatchGuard's analyzers in-process on a generated project (tests/AnalyzerCost/GenerateSolution.cs):
//   dotnet run -c Release --project tests/AnalyzerCost/AnalyzerTiming -- artifacts/analyzer-cost/TorchTraining [runs]
// Each run builds a fresh compilation (the project's sources, .NET 8 reference assemblies, TorchSharp when the
// sources use it), measures the compiler's own work (diagnostics + emit), then runs every BatchGuard analyzer on one
// thread with execution-time logging. The first runs include JIT; the summary uses the fastest run of each.
using System.Collections.Immutable;
using System.Diagnostics;
using System.Reflection;
using BatchGuard.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

var folder = args.Length > 0 ? args[0] : throw new ArgumentException("usage: AnalyzerTiming <project folder> [runs]");
var runs = args.Length > 1 ? int.Parse(args[1]) : 7;

var sources = Directory.GetFiles(folder, "*.cs").Order(StringComparer.Ordinal).ToList();
if (sources.Count == 0) throw new ArgumentException($"no .cs files in {folder}");
var trees = sources.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), new CSharpParseOptions(LanguageVersion.Latest), f)).ToList();
var usesTorch = trees.Any(t => t.ToString().Contains("using TorchSharp;", StringComparison.Ordinal));
var references = ReferenceAssemblies(usesTorch);

var analyzers = typeof(TorchSharpAnalyzer).Assembly.GetTypes()
    .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
    .OrderBy(t => t.Name, StringComparer.Ordinal)
    .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
    .ToImmutableArray();

Console.WriteLine($"{folder}: {trees.Count} files, TorchSharp referenced: {usesTorch}, analyzers: {string.Join(", ", analyzers.Select(a => a.GetType().Name))}");
var compileTimes = new List<double>();
var cpuTimes = new List<double>();
var analyzerTimes = analyzers.ToDictionary(a => a, _ => new List<double>());
for (var run = 1; run <= runs; run++)
{
    var compilation = CSharpCompilation.Create("Measured", trees, references,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, optimizationLevel: OptimizationLevel.Release));
    var clock = Stopwatch.StartNew();
    var errors = compilation.GetDiagnostics().Count(d => d.Severity == DiagnosticSeverity.Error);
    using (var peStream = new MemoryStream()) compilation.Emit(peStream);
    var compile = clock.Elapsed.TotalSeconds;
    if (errors > 0) throw new InvalidOperationException($"the generated code has {errors} compile errors");

    var withAnalyzers = compilation.WithAnalyzers(analyzers, new CompilationWithAnalyzersOptions(
        new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), onAnalyzerException: null, concurrentAnalysis: false, logAnalyzerExecutionTime: true));
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync();
    // CPU time of the whole analysis pass, every thread: the analyzers' work plus the driver's (binding the operation
    // trees the analyzers ask for), without the waiting that inflates the per-analyzer clock on a busy machine.
    var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
    compileTimes.Add(compile);
    cpuTimes.Add(cpu);
    var line = $"run {run}: compile {compile:F3}s, {diagnostics.Length} BatchGuard diagnostics, analysis CPU {cpu:F3}s";
    foreach (var analyzer in analyzers)
    {
        var time = (await withAnalyzers.GetAnalyzerTelemetryInfoAsync(analyzer, CancellationToken.None)).ExecutionTime.TotalSeconds;
        analyzerTimes[analyzer].Add(time);
        line += $", {analyzer.GetType().Name} {time:F3}s";
    }
    Console.WriteLine(line);
}

var fastestCompile = compileTimes.Min();
var fastestTotal = 0.0;
Console.WriteLine($"fastest compile (diagnostics + emit): {fastestCompile:F3}s");
foreach (var (analyzer, times) in analyzerTimes)
{
    fastestTotal += times.Min();
    Console.WriteLine($"  {analyzer.GetType().Name,-28} fastest {times.Min():F3}s = {100 * times.Min() / fastestCompile:F2}% of compile");
}
Console.WriteLine($"  {"all BatchGuard analyzers",-28} {fastestTotal:F3}s = {100 * fastestTotal / fastestCompile:F2}% of compile");
var laterCpu = cpuTimes.Skip(1).Order().ToList();
if (laterCpu.Count > 0) Console.WriteLine($"analysis pass CPU time (runs 2-{runs}): median {laterCpu[laterCpu.Count / 2]:F3}s, fastest {laterCpu[0]:F3}s");

static List<MetadataReference> ReferenceAssemblies(bool withTorchSharp)
{
    var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    var refPack = Directory.GetDirectories(Path.Combine(packages, "microsoft.netcore.app.ref"), "8.0.*").Max(StringComparer.Ordinal)
        ?? throw new InvalidOperationException("the .NET 8 reference pack is not in the NuGet cache: build any net8.0 project of this repo first");
    var references = Directory.GetFiles(Path.Combine(refPack, "ref", "net8.0"), "*.dll").Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    if (withTorchSharp)
    {
        var torchSharp = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TorchSharpPath").Value!;
        references.Add(MetadataReference.CreateFromFile(torchSharp));
    }
    return references;
}
