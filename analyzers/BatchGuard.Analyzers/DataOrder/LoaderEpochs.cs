using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers;

/// <summary>
/// Decides whether a seeded loader can serve more than one epoch: enumerated in two places, inside a loop it does not
/// belong to, or handed somewhere we cannot see (field, property, return, argument, capture). A loader created and
/// enumerated once in a method, outside any loop, serves one epoch: seeding it is exactly what the user wants.
/// </summary>
internal static class LoaderEpochs
{
    /// <summary>The result: whether more than one epoch is possible, and the loader's name if it has one.</summary>
    public readonly struct Verdict(bool moreThanOneEpoch, string? loaderName)
    {
        public bool MoreThanOneEpoch { get; } = moreThanOneEpoch;
        public string? LoaderName { get; } = loaderName;
    }

    /// <param name="creation">The factory call, object creation, or <c>base(...)</c> call.</param>
    /// <param name="loopInvariantSeed">The seed and dataset are the same in every iteration of an enclosing loop.</param>
    public static Verdict Judge(IOperation creation, bool loopInvariantSeed)
    {
        // base(...) / this(...): the loader is the user's subclass instance, consumed elsewhere.
        if (creation is IInvocationOperation { TargetMethod.MethodKind: MethodKind.Constructor } initializer)
            return new Verdict(true, initializer.SemanticModel?.GetEnclosingSymbol(initializer.Syntax.SpanStart)?.ContainingType?.Name);

        // Re-created in every iteration of a loop with the same seed: the same order every iteration.
        bool recreatedEachIteration = loopInvariantSeed && EnclosingLoops(creation).Count > 0;

        var value = OuterValue(creation);
        switch (value.Parent)
        {
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                return new Verdict(recreatedEachIteration || LocalSeesMoreThanOneEpoch(declarator.Symbol, creation), declarator.Symbol.Name);
            case ISimpleAssignmentOperation assignment when assignment.Value == value:
                return assignment.Target switch
                {
                    ILocalReferenceOperation local => new Verdict(recreatedEachIteration || LocalSeesMoreThanOneEpoch(local.Local, creation), local.Local.Name),
                    IMemberReferenceOperation member => new Verdict(true, member.Member.Name),
                    _ => new Verdict(true, null),
                };
            case IFieldInitializerOperation field:
                return new Verdict(true, field.InitializedFields.Length > 0 ? field.InitializedFields[0].Name : null);
            case IPropertyInitializerOperation property:
                return new Verdict(true, property.InitializedProperties.Length > 0 ? property.InitializedProperties[0].Name : null);
            default:
                var use = Classify(value, creation.EnclosingFunction());
                return new Verdict(recreatedEachIteration || use == Use.Escapes, null);
        }
    }

    private enum Use { None, Enumerates, Escapes }

    private static bool LocalSeesMoreThanOneEpoch(ILocalSymbol local, IOperation creation)
    {
        var root = creation;
        while (root.Parent is not null) root = root.Parent;

        var loopsAroundCreation = EnclosingLoops(creation);
        var creationFunction = creation.EnclosingFunction();
        // The variable may hold other loaders too (`loader = DataLoader(valid, ...)`): a read belongs to the write that
        // comes last before it in the text, and a loop that stores another loader does not repeat the reads on this one.
        var writes = Writes(root, local);
        var ownWrite = writes.Find(w => w.Span.Contains(creation.Syntax.Span));
        var otherWrites = ownWrite is null ? null : writes.Where(w => w != ownWrite).Select(w => w.Operation).ToList();
        var enumerations = new List<IOperation>();
        foreach (var operation in root.Descendants())
        {
            if (operation is not ILocalReferenceOperation reference || !SymbolEqualityComparer.Default.Equals(reference.Local, local)) continue;
            var value = OutermostConversion(reference);
            if (value.Parent is ISimpleAssignmentOperation assignment && assignment.Target == value) continue; // a write
            if (ownWrite is not null && value.EnclosingFunction() == creationFunction && LastWriteBefore(writes, ownWrite, value) is { } reaching && reaching != ownWrite)
                continue; // reads another loader

            switch (Classify(value, creationFunction))
            {
                case Use.Escapes:
                    return true;
                case Use.Enumerates:
                    var replacing = otherWrites?.Where(w => RunsWheneverReaching(w, value)).ToList();
                    if (RepeatsOutsideCreation(value, loopsAroundCreation, creationFunction, replacing)) return true;
                    foreach (var earlier in enumerations)
                    {
                        if (!MutuallyExclusive(earlier, value)) return true;
                    }
                    enumerations.Add(value);
                    break;
            }
        }
        return false;
    }

    private sealed class Write(IOperation operation)
    {
        public IOperation Operation { get; } = operation;
        public Microsoft.CodeAnalysis.Text.TextSpan Span => Operation.Syntax.Span;
    }

    /// <summary>The declaration and assignments that store a value into the local, in source order.</summary>
    private static List<Write> Writes(IOperation root, ILocalSymbol local)
    {
        var writes = new List<Write>();
        foreach (var operation in root.Descendants())
        {
            if (operation is IVariableDeclaratorOperation { Initializer: not null } declarator && SymbolEqualityComparer.Default.Equals(declarator.Symbol, local) ||
                operation is ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } && SymbolEqualityComparer.Default.Equals(target.Local, local))
                writes.Add(new Write(operation));
        }
        return writes;
    }

    /// <summary>
    /// The write a read sees: the last one before it in the text among this loader's own and the writes that run whenever
    /// the code around the read does (a loader stored under an `if` may not be the one read).
    /// </summary>
    private static Write? LastWriteBefore(List<Write> writes, Write own, IOperation read)
    {
        Write? last = null;
        foreach (var write in writes)
        {
            if (write.Span.End > read.Syntax.SpanStart || last is not null && write.Span.End <= last.Span.End) continue;
            if (write == own || RunsWheneverReaching(write.Operation, read)) last = write;
        }
        return last;
    }

    /// <summary>
    /// Whether a write is not conditional relative to a read: between the write and the innermost operation that
    /// contains both there is no branch (if/else, ?:, switch case, catch, ??, ?.) and no loop of its own.
    /// </summary>
    private static bool RunsWheneverReaching(IOperation write, IOperation read)
    {
        var aroundRead = new HashSet<IOperation>();
        for (var current = read; current is not null; current = current.Parent) aroundRead.Add(current);
        for (IOperation child = write, current = write.Parent!; current is not null && !aroundRead.Contains(current); child = current, current = current.Parent!)
        {
            if (current is IConditionalOperation conditional && child != conditional.Condition) return false;
            if (current is ISwitchCaseOperation or ICatchClauseOperation or ICoalesceOperation or IConditionalAccessOperation or ILoopOperation) return false;
        }
        return true;
    }

    /// <summary>
    /// The two operations never both run on one loader: different branches of one if/else, conditional expression or
    /// switch, or one in a branch that always leaves the method and the other after that branch.
    /// </summary>
    private static bool MutuallyExclusive(IOperation a, IOperation b) =>
        InDifferentBranches(a, b) || ExitsBefore(a, b) || ExitsBefore(b, a);

    /// <summary>
    /// <paramref name="first"/> sits in an if/else branch that ends by leaving the method (return, throw) and
    /// <paramref name="second"/> comes after that branch: `if (quick) { one pass; return; } full pass;`.
    /// </summary>
    private static bool ExitsBefore(IOperation first, IOperation second)
    {
        for (IOperation child = first, current = first.Parent!; current is not null; child = current, current = current.Parent!)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) return false;
            if (current is IConditionalOperation conditional && child != conditional.Condition && LeavesTheMethod(child) &&
                second.Syntax.SpanStart >= conditional.Syntax.Span.End)
                return true;
        }
        return false;
    }

    private static bool LeavesTheMethod(IOperation branch)
    {
        var last = branch is IBlockOperation block ? (block.Operations.IsEmpty ? null : block.Operations[block.Operations.Length - 1]) : branch;
        // return and yield break leave; yield return comes back. A throw leaves unless a try around it may catch it.
        if (last is IReturnOperation { Kind: OperationKind.Return or OperationKind.YieldBreak }) return true;
        if (last is not (IThrowOperation or IExpressionStatementOperation { Operation: IThrowOperation })) return false;
        for (var current = branch.Parent; current is not null; current = current.Parent)
        {
            if (current is ITryOperation { Catches.IsEmpty: false }) return false;
        }
        return true;
    }

    /// <summary>The two operations sit in different branches of one if/else, conditional expression or switch.</summary>
    private static bool InDifferentBranches(IOperation a, IOperation b)
    {
        var ancestorsOfA = new List<IOperation>();
        for (var current = a; current is not null; current = current.Parent) ancestorsOfA.Add(current);

        IOperation? childOfCommon = null;
        for (var current = b; current is not null; childOfCommon = current, current = current.Parent)
        {
            int index = ancestorsOfA.IndexOf(current);
            if (index <= 0 || childOfCommon is null) continue;
            var branchOfA = ancestorsOfA[index - 1];
            return current switch
            {
                IConditionalOperation conditional =>
                    (branchOfA == conditional.WhenTrue && childOfCommon == conditional.WhenFalse) ||
                    (branchOfA == conditional.WhenFalse && childOfCommon == conditional.WhenTrue),
                ISwitchOperation => branchOfA is ISwitchCaseOperation && childOfCommon is ISwitchCaseOperation && branchOfA != childOfCommon,
                ISwitchExpressionOperation => branchOfA is ISwitchExpressionArmOperation && childOfCommon is ISwitchExpressionArmOperation && branchOfA != childOfCommon,
                _ => false,
            };
        }
        return false;
    }

    /// <summary>How one occurrence of the loader is used.</summary>
    private static Use Classify(IOperation value, IOperation? creationFunction)
    {
        // Inside a lambda or local function the loader was captured: the use can run any number of times, or later.
        if (value.EnclosingFunction() != creationFunction) return Use.Escapes;
        switch (value.Parent)
        {
            case IForEachLoopOperation loop when loop.Collection == value:
                return Use.Enumerates;
            case IInvocationOperation invocation when invocation.Instance == value:
                return invocation.TargetMethod.Name == "GetEnumerator" ? Use.Enumerates : Use.None;
            case IMemberReferenceOperation member when member.Instance == value:
                return Use.None; // loader.Count, loader.batch_size, ...
            case IConditionalAccessOperation access when access.Operation == value:
                // loader?.Dispose(), loader?.Count: the same uses as without the '?'.
                return access.WhenNotNull switch
                {
                    IInvocationOperation { Instance: IConditionalAccessInstanceOperation } call => call.TargetMethod.Name == "GetEnumerator" ? Use.Enumerates : Use.None,
                    IMemberReferenceOperation { Instance: IConditionalAccessInstanceOperation } => Use.None,
                    _ => Use.Escapes,
                };
            case IArgumentOperation { Parent: IInvocationOperation call }
                when call.TargetMethod.ContainingType is { Name: "Enumerable", ContainingNamespace: { Name: "Linq", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } }:
                return Use.Enumerates; // loader.First(), loader.ToList(): one pass
            case IUsingOperation:
            case IIsTypeOperation:
            case IIsPatternOperation:
            case IBinaryOperation:
            case INameOfOperation:
            case IExpressionStatementOperation: // discarded value
                return Use.None;
            default:
                return Use.Escapes; // stored, returned, passed, aliased: the consumer is not visible
        }
    }

    /// <summary>
    /// True when a loop encloses the use but not the loader's creation, so the use repeats on one loader — unless the
    /// loop also stores another loader in the variable (<paramref name="otherWrites"/>): then the use sees this one once.
    /// </summary>
    private static bool RepeatsOutsideCreation(IOperation use, List<ILoopOperation> loopsAroundCreation, IOperation? creationFunction,
        List<IOperation>? otherWrites = null)
    {
        IOperation child = use;
        for (var current = use.Parent; current is not null && current != creationFunction; child = current, current = current.Parent)
        {
            if (current is ILoopOperation loop && !loopsAroundCreation.Contains(loop) && !RunsOnce(loop, child) &&
                !(otherWrites is not null && ContainsAny(loop, otherWrites)))
                return true;
        }
        return false;
    }

    /// <summary>What a loop evaluates once: a foreach's collection, a for loop's initializer.</summary>
    private static bool RunsOnce(ILoopOperation loop, IOperation child) =>
        loop is IForEachLoopOperation forEach && forEach.Collection == child ||
        loop is IForLoopOperation forLoop && forLoop.Before.Contains(child);

    private static bool ContainsAny(IOperation ancestor, List<IOperation> operations)
    {
        foreach (var operation in operations)
        {
            for (var current = operation.Parent; current is not null; current = current.Parent)
            {
                if (current == ancestor) return true;
            }
        }
        return false;
    }

    private static List<ILoopOperation> EnclosingLoops(IOperation operation)
    {
        var loops = new List<ILoopOperation>();
        IOperation child = operation;
        for (var current = operation.Parent; current is not null; child = current, current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) break;
            // A foreach evaluates its collection once: the creation in `foreach (var b in Create())` is not repeated.
            if (current is ILoopOperation loop && !RunsOnce(loop, child)) loops.Add(loop);
        }
        return loops;
    }

    private static IOperation OutermostConversion(IOperation operation)
    {
        while (operation.Parent is IConversionOperation or IParenthesizedOperation) operation = operation.Parent;
        return operation;
    }

    /// <summary>
    /// The value a creation is one of the results of: through conversions, <c>c ? a : b</c>, <c>a ?? b</c> and a switch
    /// expression's arms (<c>var loader = shuffled ? DataLoader(..., seed: 3) : DataLoader(...);</c>).
    /// </summary>
    private static IOperation OuterValue(IOperation creation)
    {
        var value = OutermostConversion(creation);
        while (true)
        {
            switch (value.Parent)
            {
                case IConditionalOperation conditional when conditional.WhenTrue == value || conditional.WhenFalse == value:
                case ICoalesceOperation coalesce when coalesce.Value == value || coalesce.WhenNull == value:
                    value = OutermostConversion(value.Parent);
                    continue;
                case ISwitchExpressionArmOperation arm when arm.Value == value && arm.Parent is ISwitchExpressionOperation switchExpression:
                    value = OutermostConversion(switchExpression);
                    continue;
                default:
                    return value;
            }
        }
    }
}
