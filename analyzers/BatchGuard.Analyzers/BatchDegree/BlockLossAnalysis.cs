using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// What one operation block shows by itself, reported as the user types (the IDE analyses the open document, and
/// runs no compilation-end action unless full-solution analysis is on). Each <c>backward()</c> of the block is
/// evaluated with a <see cref="BlockScope"/>: an evaluation that never needed the rest of the compilation (a field's
/// writes, a parameter's call sites) is <em>complete</em>, and its findings inside this block are reportable here.
/// A loader created in the block into a local that only this block's foreach loops read gets its BG0001 here when a
/// complete BG0003/BG0004 finding is fed by those loops. Everything else is decided at compilation end by
/// <see cref="TrainingLossAnalysis"/>, which reuses the complete evaluations and skips what is reported here, so a
/// diagnostic is reported once, by whichever pass can prove it.
/// </summary>
internal sealed class BlockLossAnalysis
{
    private BlockLossAnalysis(List<BackwardEvaluation> evaluations, List<LossFinding> reportable, List<LoaderFinding> reportableLoaders)
    {
        Evaluations = evaluations;
        Reportable = reportable;
        ReportableLoaders = reportableLoaders;
    }

    /// <summary>One evaluation per <c>backward()</c> of the block, in source order.</summary>
    public IReadOnlyList<BackwardEvaluation> Evaluations { get; }
    /// <summary>BG0003-BG0005 findings of complete evaluations whose site lies in this block, each once.</summary>
    public IReadOnlyList<LossFinding> Reportable { get; }
    /// <summary>BG0001: loaders of this block whose short batch reaches a complete BG0003/BG0004 finding.</summary>
    public IReadOnlyList<LoaderFinding> ReportableLoaders { get; }

    public static BlockLossAnalysis Run(IndexedBlock block, AnalyzerOptions options)
    {
        var symbols = block.Index.Symbols;
        var evaluations = new List<BackwardEvaluation>();
        foreach (var backward in block.Backwards)
        {
            var scope = new BlockScope(block.Index);
            var findings = new Dictionary<FindingKey, LossFinding>();
            var evaluator = new DegreeEvaluator(scope, (at, name) => TrainingLossAnalysis.IsNominalBatchSizeName(options, at, name), findings);
            TrainingLossAnalysis.EvaluateBackward(backward, scope, evaluator);
            evaluations.Add(new BackwardEvaluation(backward, !scope.ReachedOutside, findings.Values.OrderBy(f => f.Site.Syntax.SpanStart).ToList(),
                scope.ReachedOutside ? null : scope.ResolvedLoaders));
        }

        var complete = evaluations.Where(e => e.Complete).SelectMany(e => e.Findings).ToList();
        var reportable = new List<LossFinding>();
        var seen = new HashSet<FindingKey>();
        foreach (var finding in complete)
        {
            if (IsInside(finding.Site.Syntax, block.Block.Syntax) && seen.Add(FindingKey.Of(finding))) reportable.Add(finding);
        }
        return new BlockLossAnalysis(evaluations, reportable, LoadersFeedingBatchDependentLosses(block, symbols, complete));
    }

    private static bool IsInside(SyntaxNode node, SyntaxNode block) =>
        node.SyntaxTree == block.SyntaxTree && block.Span.Contains(node.Span);

    private static List<LoaderFinding> LoadersFeedingBatchDependentLosses(IndexedBlock block, TorchSharpSymbols symbols, List<LossFinding> complete)
    {
        var result = new List<LoaderFinding>();
        var batchDependent = complete.Where(f => f.RuleId is RuleIds.SumDividedByNominalBatchSize or RuleIds.LossNormalizedTwice).ToList();
        if (batchDependent.Count == 0) return result;
        foreach (var operation in block.LoaderCreations)
        {
            var scope = new BlockScope(block.Index);
            if (LoaderCreation.TryCreate(operation, symbols, scope) is not { CanYieldShortBatch: true } creation || scope.ReachedOutside) continue;
            if (OnlyEnumeratedHere(creation, block.Block) is not { Count: > 0 } loops || loops.Any(LoaderCreation.HandlesShortBatches)) continue;
            var collections = new HashSet<IOperation>(loops.Select(l => l.Collection.WalkDownConversions()), IdentityComparer.Instance);
            var first = batchDependent.Where(f => f.FeedingCollections.Overlaps(collections))
                .OrderBy(f => f.Site.Syntax.SyntaxTree.FilePath, System.StringComparer.Ordinal).ThenBy(f => f.Site.Syntax.SpanStart)
                .FirstOrDefault();
            if (first is not null) result.Add(new LoaderFinding(creation, first));
        }
        return result;
    }

    /// <summary>
    /// The foreach loops over the local a creation initialises, when that local is read nowhere else (so no loop of
    /// another member can enumerate this loader); otherwise null.
    /// </summary>
    private static List<IForEachLoopOperation>? OnlyEnumeratedHere(LoaderCreation creation, IOperation root)
    {
        var parent = creation.Creation.Parent;
        while (parent is IConversionOperation) parent = parent.Parent;
        if (parent is not IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }) return null;
        var loops = new List<IForEachLoopOperation>();
        foreach (var operation in root.PreOrder())
        {
            if (operation is not ILocalReferenceOperation read || !SymbolEqualityComparer.Default.Equals(read.Local, declarator.Symbol)) continue;
            var user = read.Parent;
            while (user is IConversionOperation) user = user.Parent;
            if (user is not IForEachLoopOperation loop || !ReferenceEquals(loop.Collection.WalkDownConversions(), read)) return null;
            loops.Add(loop);
        }
        return loops;
    }
}

/// <summary>A <c>backward()</c> evaluated within its block; <see cref="Complete"/> when nothing outside it was needed.</summary>
internal sealed class BackwardEvaluation
{
    public BackwardEvaluation(IInvocationOperation backward, bool complete, List<LossFinding> findings,
        Dictionary<IOperation, ImmutableArray<LoaderCreation>>? resolvedLoaders)
    {
        Backward = backward;
        Complete = complete;
        Findings = findings;
        ResolvedLoaders = resolvedLoaders;
    }

    public IInvocationOperation Backward { get; }
    public bool Complete { get; }
    public IReadOnlyList<LossFinding> Findings { get; }
    /// <summary>
    /// The loaders the complete evaluation resolved (the enclosing loops' collections, by expression): what the
    /// compilation-end pass would find for the same expressions, since nothing outside the block was needed. Null when
    /// the evaluation is not complete.
    /// </summary>
    public IReadOnlyDictionary<IOperation, ImmutableArray<LoaderCreation>>? ResolvedLoaders { get; }
}

/// <summary>BG0001: a loader and the first batch-size-dependent loss its short batch reaches.</summary>
internal sealed class LoaderFinding
{
    public LoaderFinding(LoaderCreation creation, LossFinding loss)
    {
        Creation = creation;
        Loss = loss;
    }

    public LoaderCreation Creation { get; }
    public LossFinding Loss { get; }
}
