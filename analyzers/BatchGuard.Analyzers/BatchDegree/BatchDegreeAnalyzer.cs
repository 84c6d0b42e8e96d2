using System.Collections.Immutable;
using BatchGuard.Analyzers.Batching;
using BatchGuard.Analyzers.LossScaling;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// The rules that read the batch-degree model (how a loss's magnitude depends on the mini-batch size, and which loaders
/// feed it): the partial-batch rules BG0001, BG0002 and BG0008 (<see cref="PartialBatchRules"/>) and the
/// loss-normalisation rules BG0003-BG0005 (<see cref="LossNormalizationRules"/>).
/// </summary>
/// <remarks>
/// One analyzer for both families, because they read one model: each operation block is offered and indexed once
/// (<see cref="CompilationIndex"/>), each <c>backward()</c> is evaluated once (<see cref="BlockLossAnalysis"/>), and no
/// rule waits for another to finish a block it also needs. As two analyzers, every block was offered twice and the
/// second offer waited for the first; that waiting was about a tenth of the build-time cost the compiler charged
/// (docs/performance.md, "Analyzer cost"). Findings a block proves by itself are reported as the user types; those
/// that need the rest of the compilation at compilation end.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class BatchDegreeAnalyzer : TorchSharpAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        PartialBatchRules.Descriptors.AddRange(LossNormalizationRules.Descriptors);

    private protected override void OnCompilationStart(CompilationStartAnalysisContext context, TorchSharpSymbols symbols)
    {
        PartialBatchRules.RegisterDropLastVersionCheck(context, symbols);
        // As the user types: what each block proves by itself.
        var index = CompilationIndex.ForCompilation(context, symbols, (block, indexed) =>
        {
            var local = indexed.LocalAnalysis(block.Options);
            LossNormalizationRules.ReportAsTyped(block.ReportDiagnostic, local);
            PartialBatchRules.ReportAsTyped(block.ReportDiagnostic, local);
        });
        // At compilation end: what needs the rest of the compilation (fields, call sites, loaders used elsewhere).
        context.RegisterCompilationEndAction(end => Guarded(() =>
        {
            var analysis = index.Analysis(end.Options);
            LossNormalizationRules.ReportAtEnd(end.ReportDiagnostic, analysis);
            PartialBatchRules.ReportAtEnd(end.ReportDiagnostic, analysis);
        }));
    }
}
