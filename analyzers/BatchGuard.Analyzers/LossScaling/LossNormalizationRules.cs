using System;
using System.Collections.Immutable;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;

namespace BatchGuard.Analyzers.LossScaling;

/// <summary>
/// BG0003 (sum divided by the nominal batch size), BG0004 (loss normalised twice), BG0005 (division by a count that can
/// be zero): batch-size-dependent normalisations on the way from a batch to <c>backward()</c>, found with the
/// batch-degree model across the compilation (helpers, lambdas, custom loss modules). Reported by
/// <see cref="BatchDegreeAnalyzer"/>: a finding its method proves by itself as the user types
/// (<see cref="BlockLossAnalysis"/>), one that needs the rest of the compilation at compilation end.
/// </summary>
internal static class LossNormalizationRules
{
    public static ImmutableArray<DiagnosticDescriptor> Descriptors { get; } = ImmutableArray.Create(
        Analyzers.Descriptors.BG0003_SumDividedByNominalBatchSize,
        Analyzers.Descriptors.BG0004_LossNormalizedTwice,
        Analyzers.Descriptors.BG0005_DivisionByCountThatCanBeZero);

    /// <summary>As the user types: what the block proves by itself (same-method losses, helpers it calls).</summary>
    public static void ReportAsTyped(Action<Diagnostic> report, BlockLossAnalysis local)
    {
        foreach (var finding in local.Reportable) report(Create(finding));
    }

    /// <summary>At compilation end: the findings no block reported as the user typed.</summary>
    public static void ReportAtEnd(Action<Diagnostic> report, TrainingLossAnalysis analysis)
    {
        foreach (var finding in analysis.Findings)
        {
            if (!analysis.ReportedAsTyped.Contains(FindingKey.Of(finding))) report(Create(finding));
        }
    }

    private static Diagnostic Create(LossFinding finding)
    {
        var descriptor = finding.RuleId switch
        {
            RuleIds.SumDividedByNominalBatchSize => Analyzers.Descriptors.BG0003_SumDividedByNominalBatchSize,
            RuleIds.LossNormalizedTwice => Analyzers.Descriptors.BG0004_LossNormalizedTwice,
            _ => Analyzers.Descriptors.BG0005_DivisionByCountThatCanBeZero,
        };
        return Diagnostic.Create(descriptor, finding.Location,
            new[] { finding.Divisor.Syntax.GetLocation() }, finding.Properties, finding.MessageArgs);
    }
}
