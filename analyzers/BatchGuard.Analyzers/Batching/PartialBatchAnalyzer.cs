using System.Collections.Immutable;
using System.Linq;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BatchGuard.Analyzers.Batching;

/// <summary>
/// BG0001 (a loader's short final batch reaches a batch-size-dependent loss), BG0002 (a training loader can yield a
/// short final batch), both at the DataLoader creation and reported at compilation end from the batch-degree analysis
/// shared with <see cref="LossScaling.LossNormalizationAnalyzer"/> (computed once per compilation); and BG0008
/// (drop_last: true on a TorchSharp older than 0.102.5, which ignores it), reported as each creation is analysed.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class PartialBatchAnalyzer : TorchSharpAnalyzer
{
    /// <summary>Diagnostic property: the loader passes an explicit <c>drop_last: false</c> (additional location 0).</summary>
    public const string ExplicitDropLastFalse = "ExplicitDropLastFalse";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        Descriptors.BG0001_PartialBatchFeedsBatchDependentLoss,
        Descriptors.BG0002_TrainingLoaderKeepsPartialBatch,
        Descriptors.BG0008_DropLastIgnoredByOldTorchSharp);

    private protected override void OnCompilationStart(CompilationStartAnalysisContext context, TorchSharpSymbols symbols)
    {
        if (symbols.TorchSharpVersion is { } version && version < TrainingLossAnalysis.FirstVersionHonouringDropLast)
        {
            context.RegisterOperationAction(operation => Guarded(() =>
            {
                if (LoaderCreation.TryCreate(operation.Operation, symbols) is { DropLastSetting: DropLastSetting.True, DropLast: { } dropLast })
                {
                    operation.ReportDiagnostic(Diagnostic.Create(Descriptors.BG0008_DropLastIgnoredByOldTorchSharp,
                        dropLast.Syntax.GetLocation(), $"{version.Major}.{version.Minor}.{version.Build}"));
                }
            }), OperationKind.Invocation, OperationKind.ObjectCreation);
        }

        var index = CompilationIndex.ForCompilation(context, symbols);
        context.RegisterCompilationEndAction(end => Guarded(() =>
        {
            var analysis = index.Analysis(end.Options);
            foreach (var creation in analysis.Creations)
            {
                if (!creation.CanYieldShortBatch) continue;
                analysis.Consumers.TryGetValue(creation.Syntax, out var consumers);
                if (consumers is not null && consumers.Any(LoaderCreation.HandlesShortBatches)) continue;

                var additional = creation is { DropLastSetting: DropLastSetting.False, DropLast: { } explicitFalse }
                    ? new[] { explicitFalse.Value.Syntax.GetLocation() }
                    : System.Array.Empty<Location>();
                var properties = additional.Length > 0
                    ? ImmutableDictionary<string, string?>.Empty.Add(ExplicitDropLastFalse, "true")
                    : ImmutableDictionary<string, string?>.Empty;

                if (analysis.BatchDependentLossesByLoader.TryGetValue(creation.Syntax, out var losses))
                {
                    var first = losses.OrderBy(f => f.Site.Syntax.SyntaxTree.FilePath).ThenBy(f => f.Site.Syntax.SpanStart).First();
                    var where = $"{LoaderCreation.Shorten(first.Site.Syntax.ToString())}, {first.RuleId}";
                    end.ReportDiagnostic(Diagnostic.Create(Descriptors.BG0001_PartialBatchFeedsBatchDependentLoss,
                        creation.Location, additional, properties, creation.Name, creation.ShortBatchReason, where));
                    continue;
                }

                // An explicit drop_last: false is a deliberate choice: it silences the Info rule.
                if (creation.DropLastSetting != DropLastSetting.Absent) continue;
                var isTraining = consumers is null || consumers.Count == 0
                    ? creation.ShufflesConstantly // no consumer visible (a factory): shuffle marks a training loader
                    : consumers.Any(analysis.TrainingLoops.Contains);
                if (isTraining)
                {
                    end.ReportDiagnostic(Diagnostic.Create(Descriptors.BG0002_TrainingLoaderKeepsPartialBatch,
                        creation.Location, additional, properties, creation.Name, creation.ShortBatchReason));
                }
            }
        }));
    }
}
