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

    public static async Task Diagnostics(string source, string? editorConfig, params DiagnosticResult[] expected)
    {
        var test = new Test { TestCode = source };
        if (editorConfig is not null)
            test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*]\n" + editorConfig));
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    public sealed class Test : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    {
        public Test()
        {
            ReferenceAssemblies = TestReferences.Net80;
            TestState.AdditionalReferences.Add(TestReferences.TorchSharp);
        }
    }
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
