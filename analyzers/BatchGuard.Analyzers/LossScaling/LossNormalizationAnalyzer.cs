using System.Collections.Immutable;
using System.Linq;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BatchGuard.Analyzers.LossScaling;

/// <summary>
/// BG0003 (sum divided by the nominal batch size), BG0004 (loss normalised twice), BG0005 (division by a count that can
/// be zero): batch-size-dependent normalisations on the way from a batch to <c>backward()</c>, found with the
/// batch-degree model across the compilation (helpers, lambdas, custom loss modules). Reported at compilation end from
/// the analysis shared with <see cref="Batching.PartialBatchAnalyzer"/> (computed once per compilation).
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
        var index = CompilationIndex.ForCompilation(context, symbols);
        context.RegisterCompilationEndAction(end => Guarded(() =>
        {
            foreach (var finding in index.Analysis(end.Options).Findings)
            {
                var descriptor = finding.RuleId switch
                {
                    RuleIds.SumDividedByNominalBatchSize => Descriptors.BG0003_SumDividedByNominalBatchSize,
                    RuleIds.LossNormalizedTwice => Descriptors.BG0004_LossNormalizedTwice,
                    _ => Descriptors.BG0005_DivisionByCountThatCanBeZero,
                };
                end.ReportDiagnostic(Diagnostic.Create(descriptor, finding.Location,
                    new[] { finding.Divisor.Syntax.GetLocation() }, finding.Properties, finding.MessageArgs));
            }
        }));
    }
}
