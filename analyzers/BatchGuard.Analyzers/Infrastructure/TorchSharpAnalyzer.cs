using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BatchGuard.Analyzers;

/// <summary>
/// Base of every BatchGuard analyzer: skips generated code, runs concurrently, and only starts in compilations that
/// reference TorchSharp (its symbols shared by all of them and resolved once per compilation, on first use).
/// </summary>
public abstract class TorchSharpAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public sealed override void Initialize(AnalysisContext context)
    {
        // Generated code is not analysed (no action runs on it). ReportDiagnostics without Analyze only tells the compiler
        // not to re-check, for every diagnostic, whether its location is generated code (about 0.1 ms per file on a
        // large solution): every BatchGuard diagnostic lies in code an action was given, or in a method body the
        // batch-degree model bound itself, which it never does for generated code (BlockScope).
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.ReportDiagnostics);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            // Decided from the references' names; the types resolve on first use (TorchSharpSymbols, remarks).
            var symbols = TorchSharpSymbols.For(start.Compilation);
            if (symbols is null) return;
            OnCompilationStart(start, symbols);
        });
    }

    /// <summary>Registers the rule's actions; called only for compilations that reference TorchSharp.</summary>
    private protected abstract void OnCompilationStart(CompilationStartAnalysisContext context, TorchSharpSymbols symbols);

    /// <summary>
    /// Runs an analysis callback so that an unexpected failure on odd code costs a missed diagnostic, never a broken
    /// build (AD0001). Tests set <see cref="AnalyzerSafety.RethrowForTests"/> so such bugs still fail loudly there.
    /// </summary>
    private protected static void Guarded(Action action) => AnalyzerSafety.Run(action);
}

/// <summary>How analyzer callbacks run: failures swallowed in users' builds, rethrown in tests.</summary>
internal static class AnalyzerSafety
{
    /// <summary>Switch for tests: rethrow analyzer failures instead of swallowing them.</summary>
    public static volatile bool RethrowForTests;

    /// <summary>Runs a callback so that an unexpected failure costs a missed diagnostic, never a broken build (AD0001).</summary>
    public static void Run(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not OperationCanceledException && !RethrowForTests)
        {
            // Deliberately swallowed: see summary.
        }
    }
}
