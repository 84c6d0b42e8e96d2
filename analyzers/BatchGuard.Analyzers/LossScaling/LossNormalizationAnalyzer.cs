using System.Collections.Immutable;
using System.Linq;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BatchGuard.Analyzers.LossScaling;

/// <summary>
/// BG0003 (sum divided by the nominal batch size), BG0004 (loss normalised twice), BG0005 (division by a count that can
/// be zero): batch-size-dependent normalisations on the way from a batch to <c>backward()</c>, found with the
/// batch-degree model across the compilation (helpers, lambdas, custom loss modules). A finding its method proves by
/// itself is reported as the user types (<see cref="BlockLossAnalysis"/>); one that needs the rest of the compilation
/// at compilation end, from the analysis shared with <see cref="Batching.PartialBatchAnalyzer"/>.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LossNormalizationAnalyzer : TorchSharpAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        Descriptors.BG0003_SumDividedByNominalBatchSize,
        Descriptors.BG0004_LossNormalizedTwice,
        Descriptors.BG0005_DivisionByCountThatCanBeZero);

    private protected override void OnCompilationStart(CompilationStartAnalysisContext context, TorchSharpSymbols symbols)
    {
        // As the user types: what each block proves by itself (same-method losses, helpers it calls).
        var index = CompilationIndex.ForCompilation(context, symbols, (block, indexed) =>
        {
            if (indexed.Backwards.Count == 0) return;
            foreach (var finding in indexed.LocalAnalysis(block.Options).Reportable) block.ReportDiagnostic(Create(finding));
        });
        // At compilation end: what needs the rest of the compilation (fields, call sites, sites in other members).
        context.RegisterCompilationEndAction(end => Guarded(() =>
        {
            var analysis = index.Analysis(end.Options);
            foreach (var finding in analysis.Findings)
            {
                if (!analysis.ReportedAsTyped.Contains((finding.RuleId, finding.Site.Syntax))) end.ReportDiagnostic(Create(finding));
            }
        }));
    }

    private static Diagnostic Create(LossFinding finding)
    {
        var descriptor = finding.RuleId switch
        {
            RuleIds.SumDividedByNominalBatchSize => Descriptors.BG0003_SumDividedByNominalBatchSize,
            RuleIds.LossNormalizedTwice => Descriptors.BG0004_LossNormalizedTwice,
            _ => Descriptors.BG0005_DivisionByCountThatCanBeZero,
        };
        return Diagnostic.Create(descriptor, finding.Location,
            new[] { finding.Divisor.Syntax.GetLocation() }, finding.Properties, finding.MessageArgs);
    }
}
