using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.BatchDegree;

/// <summary>
/// Code-fix verification (fix, then Fix All) for the batch-degree rules. They follow values across the compilation and
/// so report at compilation end; the testing library treats such diagnostics as non-local and refuses to fix them
/// unless told that this is intended.
/// </summary>
public static class CompilationEndFix<TAnalyzer, TCodeFix>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    public static async Task Verify(string source, string fixedSource, string? equivalenceKey = null, string? batchFixedSource = null)
    {
        var test = new Infrastructure.Verify<TAnalyzer, TCodeFix>.Test
        {
            TestCode = source,
            FixedCode = fixedSource,
            BatchFixedCode = batchFixedSource ?? fixedSource,
            CodeActionEquivalenceKey = equivalenceKey,
            CodeFixTestBehaviors = CodeFixTestBehaviors.SkipLocalDiagnosticCheck,
        };
        // The analyzer reports other rule families from the same code (BG0001 beside a BG0004): a fix test states the
        // diagnostics of its own family only.
        var fixes = new TCodeFix().FixableDiagnosticIds;
        var families = Infrastructure.RuleFamily.All.Where(f => f.Ids.Any(fixes.Contains)).ToList();
        if (families.Count > 0)
            test.DisabledDiagnostics.AddRange(new TAnalyzer().SupportedDiagnostics.Select(d => d.Id).Where(id => !families.Any(f => f.Ids.Contains(id))));
        await test.RunAsync();
    }
}
