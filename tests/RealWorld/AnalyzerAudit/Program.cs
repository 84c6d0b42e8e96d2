// Runs every BatchGuard analyzer over a folder of C# files (recursively; bin/ and obj/ skipped) compiled against the
// .NET 8 reference assemblies, TorchSharp 0.107 and any extra assemblies named, with the SDK's implicit usings:
//   dotnet run -c Release --project tests/RealWorld/AnalyzerAudit -- <folder> [extra.dll ...]
// Prints the compile errors' count (findings on code that does not bind mean little), every BatchGuard diagnostic
// (Info included, which a build's console hides) and every analyzer exception. A build swallows analyzer exceptions
// so that a bug costs a missed diagnostic, not a broken build (AnalyzerSafety); here they are rethrown and reported.
// Exit code 1 when an analyzer threw.
using System.Collections.Immutable;
using System.Reflection;
using BatchGuard.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

if (args.Length < 1 || !Directory.Exists(args[0])) throw new ArgumentException("usage: AnalyzerAudit <folder of .cs files> [extra reference .dll ...]");
AnalyzerSafety.RethrowForTests = true;

var parse = new CSharpParseOptions(LanguageVersion.Latest);
var files = Directory.GetFiles(args[0], "*.cs", SearchOption.AllDirectories)
    .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
    .Order(StringComparer.Ordinal).ToList();
var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).ToList();
// What <ImplicitUsings>enable</ImplicitUsings> gives a console project.
trees.Add(CSharpSyntaxTree.ParseText("""
    global using System;
    global using System.Collections.Generic;
    global using System.IO;
    global using System.Linq;
    global using System.Net.Http;
    global using System.Threading;
    global using System.Threading.Tasks;
    """, parse, "ImplicitUsings.g.cs"));

var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
var refPack = Directory.GetDirectories(Path.Combine(packages, "microsoft.netcore.app.ref"), "8.0.*").Max(StringComparer.Ordinal)
    ?? throw new InvalidOperationException("the .NET 8 reference pack is not in the NuGet cache: build any net8.0 project of this repo first");
var references = Directory.GetFiles(Path.Combine(refPack, "ref", "net8.0"), "*.dll").Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
var torchSharp = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TorchSharpPath").Value!;
references.Add(MetadataReference.CreateFromFile(torchSharp));
references.AddRange(args.Skip(1).Select(p => MetadataReference.CreateFromFile(p)));

var compilation = CSharpCompilation.Create("Audited", trees, references,
    new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Annotations));
var errors = compilation.GetDiagnostics().Count(d => d.Severity == DiagnosticSeverity.Error);
Console.WriteLine($"{args[0]}: {files.Count} files, {errors} compile errors");

var analyzers = typeof(TorchSharpAnalyzer).Assembly.GetTypes()
    .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
    .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!).ToImmutableArray();
var exceptions = 0;
var withAnalyzers = compilation.WithAnalyzers(analyzers, new CompilationWithAnalyzersOptions(
    new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
    (exception, analyzer, _) => { exceptions++; Console.WriteLine($"EXCEPTION in {analyzer.GetType().Name}: {exception}"); },
    concurrentAnalysis: false, logAnalyzerExecutionTime: false));
var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync();
foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceTree?.FilePath, StringComparer.Ordinal).ThenBy(d => d.Location.SourceSpan.Start))
    Console.WriteLine(diagnostic);
Console.WriteLine($"{diagnostics.Length} BatchGuard diagnostics ({string.Join(", ", diagnostics.GroupBy(d => d.Id).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}), {exceptions} analyzer exceptions");
return exceptions > 0 ? 1 : 0;
