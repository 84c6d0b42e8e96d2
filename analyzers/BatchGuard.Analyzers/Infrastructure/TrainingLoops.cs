using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers;

/// <summary>
/// A training loop: the innermost loop (foreach, for, while, do, or a manual enumerator's while) whose body calls
/// <c>backward()</c> and an optimizer's <c>step()</c>; or a training step, the body of a method, local function or
/// lambda that calls both outside any loop of its own (<c>void TrainBatch(...) { ...; loss.backward(); opt.step(); }</c>),
/// which its callers repeat once per batch. Calls inside nested lambdas or local functions are not counted: they may
/// run elsewhere.
/// </summary>
internal sealed class TrainingLoop
{
    public TrainingLoop(ILoopOperation loop, ImmutableArray<IInvocationOperation> calls, TorchSharpSymbols symbols)
        : this((IOperation)loop, calls, symbols)
    {
    }

    /// <summary>A training step: <paramref name="body"/> is the body that repeats, <paramref name="calls"/> its calls.</summary>
    public static TrainingLoop Step(IOperation body, ImmutableArray<IInvocationOperation> calls, TorchSharpSymbols symbols) =>
        new(body, calls, symbols);

    private TrainingLoop(IOperation scope, ImmutableArray<IInvocationOperation> calls, TorchSharpSymbols symbols)
    {
        Scope = scope;
        Calls = calls;
        // One pass, by name first: most calls in a loop are neither.
        ImmutableArray<IInvocationOperation>.Builder? backwards = null, steps = null;
        foreach (var call in calls)
        {
            switch (call.TargetMethod.Name)
            {
                case "backward" when symbols.IsBackward(call):
                    (backwards ??= ImmutableArray.CreateBuilder<IInvocationOperation>()).Add(call);
                    break;
                case "step" when symbols.IsOptimizerStep(call):
                    (steps ??= ImmutableArray.CreateBuilder<IInvocationOperation>()).Add(call);
                    break;
            }
        }
        Backwards = backwards?.ToImmutable() ?? ImmutableArray<IInvocationOperation>.Empty;
        Steps = steps?.ToImmutable() ?? ImmutableArray<IInvocationOperation>.Empty;
    }

    /// <summary>What repeats: the loop, or a training step's body.</summary>
    public IOperation Scope { get; }
    /// <summary>The loop; null for a training step.</summary>
    public ILoopOperation? Loop => Scope as ILoopOperation;
    /// <summary>The code that runs once per batch: the loop's body, or the training step's body.</summary>
    public IOperation Body => Loop is { } loop ? loop.Body : Scope;
    /// <summary>Every invocation in the loop body, in source order.</summary>
    public ImmutableArray<IInvocationOperation> Calls { get; }
    public ImmutableArray<IInvocationOperation> Backwards { get; }
    public ImmutableArray<IInvocationOperation> Steps { get; }

    /// <summary>For <c>foreach (var batch in loader)</c>: the enumerated expression, conversions removed.</summary>
    public IOperation? EnumeratedCollection =>
        Scope is IForEachLoopOperation forEach ? forEach.Collection.WalkDownConversions() : null;
}

internal static class TrainingLoopFinder
{
    /// <summary>All training loops in an operation block (a method, accessor, lambda or local function body).</summary>
    public static ImmutableArray<TrainingLoop> Find(IOperation block, TorchSharpSymbols symbols)
    {
        var candidates = new List<TrainingLoop>();
        foreach (var loop in block.DescendantsAndSelf().OfType<ILoopOperation>())
        {
            var calls = InvocationsInBody(loop);
            var trainingLoop = new TrainingLoop(loop, calls, symbols);
            if (trainingLoop.Backwards.Length > 0 && trainingLoop.Steps.Length > 0) candidates.Add(trainingLoop);
        }

        // Keep the innermost: an epoch loop around a batch loop is not itself the training loop.
        return candidates
            .Where(outer => !candidates.Any(inner => !ReferenceEquals(inner, outer) && IsInside(inner.Scope, outer.Scope)))
            .ToImmutableArray();
    }

    /// <summary>
    /// Whether <see cref="Find"/> on the block containing <paramref name="loop"/> returns it: its body calls
    /// <c>backward()</c> and <c>step()</c>, and no loop nested in it does. Cheaper than <see cref="Find"/> when only a
    /// few loops are asked about. A call to backward() is spelled "backward" in the loop's text (a method cannot be
    /// renamed by an alias), so a loop whose text never says it (an evaluation loop) costs a text test
    /// (<see cref="SourceMarks"/>), and so does each nested loop that never says it.
    /// </summary>
    public static bool IsTrainingLoop(ILoopOperation loop, TorchSharpSymbols symbols)
    {
        var marks = SourceMarks.For(symbols.Compilation);
        var tree = loop.Syntax.SyntaxTree;
        if (!marks.Mentions(tree, SourceMarks.Backward, loop.Syntax.Span) || !CallsBackwardAndStep(loop, symbols)) return false;
        return !loop.Descendants().OfType<ILoopOperation>()
            .Any(inner => marks.Mentions(tree, SourceMarks.Backward, inner.Syntax.Span) && CallsBackwardAndStep(inner, symbols));
    }

    private static bool CallsBackwardAndStep(ILoopOperation loop, TorchSharpSymbols symbols)
    {
        var calls = InvocationsInBody(loop);
        return calls.Any(symbols.IsBackward) && calls.Any(symbols.IsOptimizerStep);
    }

    /// <summary>
    /// Invocations in the loop's body in the order they run in an iteration, skipping nested lambdas and local
    /// functions: the body's in source order, then a <c>for</c> loop's increments (written before the body, run after it).
    /// </summary>
    public static ImmutableArray<IInvocationOperation> InvocationsInBody(ILoopOperation loop)
    {
        var result = ImmutableArray.CreateBuilder<IInvocationOperation>();
        Collect(loop.Body, result);
        SortBySource(result, 0);
        if (loop is IForLoopOperation forLoop)
        {
            var bodyCount = result.Count;
            foreach (var after in forLoop.AtLoopBottom) Collect(after, result);
            SortBySource(result, bodyCount);
        }
        return result.ToImmutable();
    }

    /// <summary>
    /// Invocations in a training step's body in source order, skipping nested lambdas and local functions and the loops
    /// <paramref name="skip"/> names (the training loops inside it, analysed on their own).
    /// </summary>
    public static ImmutableArray<IInvocationOperation> InvocationsInStep(IOperation body, System.Func<ILoopOperation, bool> skip)
    {
        var result = ImmutableArray.CreateBuilder<IInvocationOperation>();
        Collect(body, result, skip);
        SortBySource(result, 0);
        return result.ToImmutable();
    }

    /// <summary>
    /// Sorts <paramref name="calls"/> from <paramref name="start"/> on by source position (stably), if needed: the walk
    /// visits calls in source order except where the tree reorders them.
    /// </summary>
    private static void SortBySource(ImmutableArray<IInvocationOperation>.Builder calls, int start)
    {
        for (var i = start + 1; i < calls.Count; i++)
        {
            if (calls[i - 1].Syntax.SpanStart <= calls[i].Syntax.SpanStart) continue;
            var sorted = calls.Skip(start).OrderBy(c => c.Syntax.SpanStart).ToList();
            for (var k = 0; k < sorted.Count; k++) calls[start + k] = sorted[k];
            return;
        }
    }

    private static void Collect(IOperation? operation, ImmutableArray<IInvocationOperation>.Builder into, System.Func<ILoopOperation, bool>? skip = null)
    {
        if (operation is null) return;
        if (operation is IAnonymousFunctionOperation or ILocalFunctionOperation) return;
        if (skip is not null && operation is ILoopOperation loop && skip(loop)) return;
        if (operation is IInvocationOperation invocation) into.Add(invocation);
        foreach (var child in operation.ChildOperations) Collect(child, into, skip);
    }

    public static bool IsInside(IOperation inner, IOperation outer)
    {
        for (var current = inner.Parent; current is not null; current = current.Parent)
        {
            if (ReferenceEquals(current, outer)) return true;
        }
        return false;
    }
}
