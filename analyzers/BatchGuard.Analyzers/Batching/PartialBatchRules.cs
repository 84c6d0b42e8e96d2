using System;
using System.Collections.Immutable;
using System.Linq;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.Batching;

/// <summary>
/// BG0001 (a loader's short final batch reaches a batch-size-dependent loss) and BG0002 (a training loader can yield a
/// short final batch), both at the DataLoader creation; BG0008 (drop_last: true on a TorchSharp older than 0.102.5,
/// which ignores it). Reported by <see cref="BatchDegreeAnalyzer"/>: BG0001 as the user types when the loader, its
/// loops and the loss are in one method (<see cref="BlockLossAnalysis"/>), otherwise at compilation end; BG0002 at
/// compilation end (whether a loader trains can depend on any method of the compilation); BG0008 as each creation is
/// analysed.
/// </summary>
internal static class PartialBatchRules
{
    /// <summary>Diagnostic property: the loader passes an explicit <c>drop_last: false</c> (additional location 0).</summary>
    public const string ExplicitDropLastFalse = "ExplicitDropLastFalse";

    public static ImmutableArray<DiagnosticDescriptor> Descriptors { get; } = ImmutableArray.Create(
        Analyzers.Descriptors.BG0001_PartialBatchFeedsBatchDependentLoss,
        Analyzers.Descriptors.BG0002_TrainingLoaderKeepsPartialBatch,
        Analyzers.Descriptors.BG0008_DropLastIgnoredByOldTorchSharp);

    /// <summary>BG0008: only registered for a TorchSharp that ignores drop_last.</summary>
    public static void RegisterDropLastVersionCheck(CompilationStartAnalysisContext context, TorchSharpSymbols symbols)
    {
        if (symbols.TorchSharpVersion is not { } version || version >= TrainingLossAnalysis.FirstVersionHonouringDropLast) return;
        context.RegisterOperationAction(operation => AnalyzerSafety.Run(() =>
        {
            if (LoaderCreation.TryCreate(operation.Operation, symbols) is { DropLastSetting: DropLastSetting.True, DropLast: { } dropLast })
            {
                operation.ReportDiagnostic(Diagnostic.Create(Analyzers.Descriptors.BG0008_DropLastIgnoredByOldTorchSharp,
                    dropLast.Syntax.GetLocation(), $"{version.Major}.{version.Minor}.{version.Build}"));
            }
        }), OperationKind.Invocation, OperationKind.ObjectCreation);
    }

    /// <summary>As the user types: a loader whose batches only this block's loops read, feeding a loss the block proves.</summary>
    public static void ReportAsTyped(Action<Diagnostic> report, BlockLossAnalysis local)
    {
        foreach (var loader in local.ReportableLoaders) report(PartialBatchFeedsLoss(loader.Creation, loader.Loss));
    }

    /// <summary>At compilation end: BG0001 for the loaders no block reported, and BG0002.</summary>
    public static void ReportAtEnd(Action<Diagnostic> report, TrainingLossAnalysis analysis)
    {
        foreach (var creation in analysis.Creations)
        {
            if (!creation.CanYieldShortBatch || analysis.LoadersReportedAsTyped.Contains(creation.Syntax)) continue;
            analysis.Consumers.TryGetValue(creation.Syntax, out var consumers);
            if (consumers is not null && consumers.Any(LoaderCreation.HandlesShortBatches)) continue;

            if (analysis.BatchDependentLossesByLoader.TryGetValue(creation.Syntax, out var losses))
            {
                var first = losses.OrderBy(f => f.Site.Syntax.SyntaxTree.FilePath, StringComparer.Ordinal).ThenBy(f => f.Site.Syntax.SpanStart).First();
                report(PartialBatchFeedsLoss(creation, first));
                continue;
            }

            // An explicit drop_last: false is a deliberate choice: it silences the Info rule.
            if (creation.DropLastSetting != DropLastSetting.Absent) continue;
            var isTraining = consumers is null || consumers.Count == 0
                // No consumer visible (a factory): shuffle marks a training loader, unless its method shows everything
                // done with it and trains nothing.
                ? creation.ShufflesConstantly && !UsedOnlyInAMethodThatDoesNotTrain(creation)
                : consumers.Any(analysis.TrainingLoops.Contains);
            if (isTraining)
            {
                var (additional, properties) = ExplicitFalse(creation);
                report(Diagnostic.Create(Analyzers.Descriptors.BG0002_TrainingLoaderKeepsPartialBatch,
                    creation.Location, additional, properties, creation.Name, creation.ShortBatchReason));
            }
        }
    }

    /// <summary>
    /// A loader held in a local that its method only calls members on (<c>GetEnumerator()</c>, <c>Dispose()</c>, never passed,
    /// returned, stored or captured), in a method without a <c>backward()</c> that calls no method of the user's (which
    /// might train on the enumerator's batches): read by hand for a test or an inspection, not trained on (found in
    /// TorchSharp's own data-loader tests).
    /// </summary>
    private static bool UsedOnlyInAMethodThatDoesNotTrain(LoaderCreation creation)
    {
        var parent = creation.Creation.Parent;
        while (parent is IConversionOperation) parent = parent.Parent;
        if (parent is not IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }) return false;
        var root = CompilationIndex.Root(creation.Creation);
        foreach (var operation in root.PreOrder())
        {
            switch (operation)
            {
                case IInvocationOperation { TargetMethod.Name: "backward" }:
                    return false;
                // A method of the user's may train on what it is given (an enumerator's Current, a batch).
                case IInvocationOperation { TargetMethod.DeclaringSyntaxReferences.Length: > 0 }:
                case IObjectCreationOperation { Constructor.DeclaringSyntaxReferences.Length: > 0 }:
                    return false;
                case IAnonymousFunctionOperation or ILocalFunctionOperation when operation.Descendants().Any(o => o is ILocalReferenceOperation read && SymbolEqualityComparer.Default.Equals(read.Local, declarator.Symbol)):
                    return false;
                case ILocalReferenceOperation read when SymbolEqualityComparer.Default.Equals(read.Local, declarator.Symbol):
                    var receiver = read.Parent switch
                    {
                        IInvocationOperation call => call.Instance,
                        IPropertyReferenceOperation property => property.Instance,
                        _ => null,
                    };
                    if (!ReferenceEquals(receiver, read)) return false;
                    break;
            }
        }
        return true;
    }

    private static Diagnostic PartialBatchFeedsLoss(LoaderCreation creation, LossFinding first)
    {
        var (additional, properties) = ExplicitFalse(creation);
        var where = $"{LoaderCreation.Shorten(first.Site.Syntax.ToString())}, {first.RuleId}";
        return Diagnostic.Create(Analyzers.Descriptors.BG0001_PartialBatchFeedsBatchDependentLoss,
            creation.Location, additional, properties, creation.Name, creation.ShortBatchReason, where);
    }

    /// <summary>An explicit <c>drop_last: false</c> goes to the code fix as additional location 0 and a property.</summary>
    private static (Location[] Additional, ImmutableDictionary<string, string?> Properties) ExplicitFalse(LoaderCreation creation) =>
        creation is { DropLastSetting: DropLastSetting.False, DropLast: { } explicitFalse }
            ? (new[] { explicitFalse.Value.Syntax.GetLocation() }, ImmutableDictionary<string, string?>.Empty.Add(ExplicitDropLastFalse, "true"))
            : (Array.Empty<Location>(), ImmutableDictionary<string, string?>.Empty);
}
