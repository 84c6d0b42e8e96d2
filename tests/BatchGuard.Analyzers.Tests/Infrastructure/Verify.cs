using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.Infrastructure;

/// <summary>
/// Analyzer verification against TorchSharp: <c>Verify&lt;MyAnalyzer&gt;.Diagnostics(source, expected...)</c>, with
/// <c>[|...|]</c> / <c>{|BG0001:...|}</c> markup for expected spans.
/// </summary>
public static class Verify<TAnalyzer> where TAnalyzer : DiagnosticAnalyzer, new()
{
    public static DiagnosticResult Diagnostic(string id) => CSharpAnalyzerVerifier<TAnalyzer, DefaultVerifier>.Diagnostic(id);

    public static Task Diagnostics(string source, params DiagnosticResult[] expected) =>
        Diagnostics(source, editorConfig: null, expected);

    public static Task Diagnostics(string source, string? editorConfig, params DiagnosticResult[] expected) =>
        Run(new Test(), source, editorConfig, expected);

    internal static async Task Run(Test test, string source, string? editorConfig, DiagnosticResult[] expected)
    {
        test.TestCode = source;
        if (editorConfig is not null)
            test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*]\n" + editorConfig));
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    public class Test : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    {
        public Test()
        {
            ReferenceAssemblies = TestReferences.Net80;
            TestState.AdditionalReferences.Add(TestReferences.TorchSharp);
        }
    }
}

/// <summary>
/// Verification of one rule family of an analyzer that reports several (<see cref="BatchDegreeAnalyzer"/>: the
/// partial-batch and the loss-normalisation rules): the analyzer's other diagnostics are disabled, so a test of BG0001
/// states its BG0001/BG0002 diagnostics and is not also a test of the BG0004 the same code has.
/// </summary>
public static class VerifyFamily<TAnalyzer, TFamily>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TFamily : RuleFamily, new()
{
    public static DiagnosticResult Diagnostic(string id) => Verify<TAnalyzer>.Diagnostic(id);

    public static Task Diagnostics(string source, params DiagnosticResult[] expected) => Diagnostics(source, editorConfig: null, expected);

    public static Task Diagnostics(string source, string? editorConfig, params DiagnosticResult[] expected) =>
        Verify<TAnalyzer>.Run(new Test(), source, editorConfig, expected);

    public sealed class Test : Verify<TAnalyzer>.Test
    {
        public Test() => DisabledDiagnostics.AddRange(new TFamily().OthersOf(new TAnalyzer()));
    }
}

/// <summary>A set of rules one analyzer reports together with others (<see cref="VerifyFamily{TAnalyzer, TFamily}"/>).</summary>
public abstract class RuleFamily
{
    public abstract IReadOnlyCollection<string> Ids { get; }

    /// <summary>The families of <see cref="BatchDegreeAnalyzer"/>, the analyzer that reports more than one.</summary>
    public static IReadOnlyList<RuleFamily> All { get; } = new RuleFamily[] { new BatchingRules(), new LossScalingRules() };

    /// <summary>The analyzer's diagnostics outside this family.</summary>
    public IEnumerable<string> OthersOf(DiagnosticAnalyzer analyzer) =>
        analyzer.SupportedDiagnostics.Select(d => d.Id).Where(id => !Ids.Contains(id));
}

/// <summary>BG0001, BG0002, BG0008: the partial-batch rules (analyzers/.../Batching/PartialBatchRules.cs).</summary>
public sealed class BatchingRules : RuleFamily
{
    public override IReadOnlyCollection<string> Ids { get; } = new[] { "BG0001", "BG0002", "BG0008" };
}

/// <summary>BG0003-BG0005: the loss-normalisation rules (analyzers/.../LossScaling/LossNormalizationRules.cs).</summary>
public sealed class LossScalingRules : RuleFamily
{
    public override IReadOnlyCollection<string> Ids { get; } = new[] { "BG0003", "BG0004", "BG0005" };
}

/// <summary>
/// Code-fix verification against TorchSharp, including Fix All: <c>Verify&lt;A, F&gt;.Fix(source, fixedSource)</c>.
/// </summary>
public static class Verify<TAnalyzer, TCodeFix>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    public static DiagnosticResult Diagnostic(string id) => CSharpCodeFixVerifier<TAnalyzer, TCodeFix, DefaultVerifier>.Diagnostic(id);

    /// <summary>Applies the fix (the first action, or the one with <paramref name="equivalenceKey"/>) and Fix All.</summary>
    public static async Task Fix(string source, string fixedSource, string? equivalenceKey = null, string? batchFixedSource = null)
    {
        var test = new Test
        {
            TestCode = source,
            FixedCode = fixedSource,
            BatchFixedCode = batchFixedSource ?? fixedSource,
            CodeActionEquivalenceKey = equivalenceKey,
        };
        await test.RunAsync();
    }

    public sealed class Test : CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier>
    {
        public Test()
        {
            ReferenceAssemblies = TestReferences.Net80;
            TestState.AdditionalReferences.Add(TestReferences.TorchSharp);
            FixedState.AdditionalReferences.Add(TestReferences.TorchSharp);
            BatchFixedState.AdditionalReferences.Add(TestReferences.TorchSharp);
        }
    }
}
