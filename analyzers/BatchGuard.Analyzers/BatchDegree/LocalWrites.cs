using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>Local writes of a member, by local, and which one reaches a read.</summary>
internal static class LocalWrites
{
    /// <summary>
    /// The value a local holds where it is read: the last write that ends before the read, in source order. A write
    /// inside a branch that does not contain the read is not trusted (the other path may not write), so null.
    /// Writes the model cannot follow (ref/out, increments) make the local unknown: null.
    /// </summary>
    public static LocalWrite? Reaching(Dictionary<ILocalSymbol, List<LocalWrite>> writesByLocal, ILocalReferenceOperation read) =>
        writesByLocal.TryGetValue(read.Local, out var writes) ? Reaching(writes, read) : null;

    /// <inheritdoc cref="Reaching(Dictionary{ILocalSymbol, List{LocalWrite}}, ILocalReferenceOperation)"/>
    public static LocalWrite? Reaching(List<LocalWrite> writes, ILocalReferenceOperation read)
    {
        if (writes.Count == 0) return null;
        // A lambda or local function reads a captured local when it runs, not where it stands in the text: with more
        // than one write, which one it sees is not known (`long n = 0; Func<..> f = ... / n; ... n = x.shape[0]; f(...)`).
        if (writes.Count > 1 && IsCapturedRead(read)) return null;
        LocalWrite? last = null;
        foreach (var write in writes)
        {
            if (!write.Tracked) return null;
            if (write.End <= read.Syntax.SpanStart && (last is null || write.End > last.End)) last = write;
        }
        if (last is null || !SharesBranch(last.Operation, read)) return null;
        return last;
    }

    private static bool IsCapturedRead(ILocalReferenceOperation read)
    {
        for (var current = read.Parent; current is not null; current = current.Parent)
        {
            if (current is not (IAnonymousFunctionOperation or ILocalFunctionOperation)) continue;
            foreach (var declaration in read.Local.DeclaringSyntaxReferences)
            {
                if (!current.Syntax.Span.Contains(declaration.Span)) return true;
            }
            return false;
        }
        return false;
    }

    private static bool SharesBranch(IOperation write, IOperation read)
    {
        for (var current = write.Parent; current is not null; current = current.Parent)
        {
            if (current is IConditionalOperation or ISwitchOperation or ISwitchCaseOperation or ITryOperation or ICatchClauseOperation &&
                !TrainingLoopFinder.IsInside(read, current) && !(current is IConditionalOperation c && IsWithin(write, c.Condition)))
                return false;
        }
        return true;
    }

    private static bool IsWithin(IOperation inner, IOperation outer) =>
        ReferenceEquals(inner, outer) || TrainingLoopFinder.IsInside(inner, outer);

    public static Dictionary<ILocalSymbol, List<LocalWrite>> New() => new(SymbolEqualityComparer.Default);

    /// <summary>
    /// The writes of one local below <paramref name="root"/> — the same ones <see cref="Collect"/> finds for it — from
    /// its declaration and the tokens that name it where a write can stand (<see cref="SourceMarks.PossibleWriteTokens"/>), each mapped to its operation through the root's semantic model,
    /// instead of walking the whole member. Null when the root has no semantic model.
    /// </summary>
    public static List<LocalWrite>? Find(ILocalSymbol local, IOperation root, IEnumerable<SyntaxToken> nameTokens)
    {
        if (root.SemanticModel is not { } model) return null;
        var found = New();
        var rootSyntax = root.Syntax;
        foreach (var reference in local.DeclaringSyntaxReferences)
        {
            var syntax = reference.GetSyntax();
            if (syntax.SyntaxTree != rootSyntax.SyntaxTree || !rootSyntax.Span.Contains(syntax.Span)) continue;
            var writer = syntax switch
            {
                VariableDeclaratorSyntax or CommonForEachStatementSyntax => model.GetOperation(syntax),
                // foreach (var (x, y) in ...) and var (x, y) = ...: the loop or the deconstruction writes the part.
                _ => syntax.FirstAncestorOrSelf<SyntaxNode>(n => n is ForEachVariableStatementSyntax or AssignmentExpressionSyntax) is { } owner
                    ? model.GetOperation(owner)
                    : null,
            };
            if (writer is not null) Record(writer, found);
        }
        foreach (var token in nameTokens)
        {
            // Most mentions are reads: only a name in a written position is bound.
            if (token.Parent is not IdentifierNameSyntax name || !IsWrittenPosition(name) || model.GetOperation(name) is not ILocalReferenceOperation read ||
                !SymbolEqualityComparer.Default.Equals(read.Local, local)) continue;
            var user = read.Parent;
            while (user is ITupleOperation or IDeclarationExpressionOperation) user = user.Parent;
            if (user is not null) Record(user, found);
        }
        if (!found.TryGetValue(local, out var writes)) return new List<LocalWrite>();
        // A write reached both from the declaration and from a name (a deconstruction) counts once.
        var distinct = new List<LocalWrite>(writes.Count);
        foreach (var write in writes)
        {
            if (!distinct.Exists(w => ReferenceEquals(w.Operation, write.Operation))) distinct.Add(write);
        }
        return distinct;
    }

    /// <summary>
    /// Whether a simple name stands where C# writes a variable: an assignment's left side (also compound, and inside a
    /// deconstructing tuple), the operand of ++ or --, a ref or out argument, or a foreach's deconstructed variables.
    /// </summary>
    private static bool IsWrittenPosition(IdentifierNameSyntax name)
    {
        SyntaxNode node = name;
        // (x, y) = ...: climb out of the tuple's arguments.
        while (node.Parent is ArgumentSyntax { Parent: TupleExpressionSyntax tuple }) node = tuple;
        return node.Parent switch
        {
            AssignmentExpressionSyntax assignment => assignment.Left == node,
            PrefixUnaryExpressionSyntax prefix => prefix.IsKind(SyntaxKind.PreIncrementExpression) || prefix.IsKind(SyntaxKind.PreDecrementExpression),
            PostfixUnaryExpressionSyntax postfix => postfix.IsKind(SyntaxKind.PostIncrementExpression) || postfix.IsKind(SyntaxKind.PostDecrementExpression),
            ArgumentSyntax argument => argument.RefKindKeyword.IsKind(SyntaxKind.RefKeyword) || argument.RefKindKeyword.IsKind(SyntaxKind.OutKeyword),
            ForEachVariableStatementSyntax forEach => forEach.Variable == node,
            _ => false,
        };
    }

    /// <summary>Every local write below <paramref name="root"/>, by local, in source order.</summary>
    public static Dictionary<ILocalSymbol, List<LocalWrite>> Collect(IOperation root)
    {
        var result = New();
        foreach (var operation in root.PreOrder()) Record(operation, result);
        return result;
    }

    /// <summary>Records the local write <paramref name="operation"/> is, if any.</summary>
    public static void Record(IOperation operation, Dictionary<ILocalSymbol, List<LocalWrite>> into)
    {
        if (operation.Kind is not (OperationKind.VariableDeclarator or OperationKind.Loop or OperationKind.SimpleAssignment or
            OperationKind.CompoundAssignment or OperationKind.Increment or OperationKind.Decrement or
            OperationKind.DeconstructionAssignment or OperationKind.Argument)) return;
        switch (operation)
        {
            case IVariableDeclaratorOperation declarator when declarator.GetVariableInitializer() is not null:
                AddTo(into, declarator.Symbol, new LocalWrite(declarator, tracked: true));
                break;
            case IForEachLoopOperation { LoopControlVariable: IVariableDeclaratorOperation variable } forEach:
                AddTo(into, variable.Symbol, new LocalWrite(forEach, tracked: true));
                break;
            case IForEachLoopOperation { LoopControlVariable: { } deconstructed } forEach:
                // foreach (var (x, y) in loader): each part is written by the loop.
                foreach (var local in deconstructed.DescendantsAndSelf().OfType<ILocalReferenceOperation>())
                    AddTo(into, local.Local, new LocalWrite(forEach, tracked: true));
                break;
            case ISimpleAssignmentOperation { Target: ILocalReferenceOperation target }:
                AddTo(into, target.Local, new LocalWrite(operation, tracked: true));
                break;
            case ICompoundAssignmentOperation { Target: ILocalReferenceOperation target }:
                AddTo(into, target.Local, new LocalWrite(operation, tracked: true));
                break;
            case IIncrementOrDecrementOperation { Target: ILocalReferenceOperation target }:
                AddTo(into, target.Local, new LocalWrite(operation, tracked: false));
                break;
            case IDeconstructionAssignmentOperation deconstruction:
                // var (recon, mu, logvar) = vae.forward(x): each part holds an element of the value (DegreeEvaluator).
                foreach (var local in deconstruction.Target.DescendantsAndSelf().OfType<ILocalReferenceOperation>())
                    AddTo(into, local.Local, new LocalWrite(local, tracked: true, deconstruction));
                break;
            case IArgumentOperation { Value: ILocalReferenceOperation byRef } argument
                when argument.Parameter is { RefKind: RefKind.Ref or RefKind.Out }:
                AddTo(into, byRef.Local, new LocalWrite(argument, tracked: false));
                break;
        }
    }

    private static void AddTo(Dictionary<ILocalSymbol, List<LocalWrite>> map, ILocalSymbol local, LocalWrite write)
    {
        if (!map.TryGetValue(local, out var list)) map[local] = list = new List<LocalWrite>();
        list.Add(write);
    }
}

/// <summary>A write that reaches a read of a local: a declarator, an assignment, or a foreach's iteration variable.</summary>
/// <remarks>A class: generic collections of a value type are JIT-compiled anew in every cold compiler process.</remarks>
internal sealed class LocalWrite
{
    public LocalWrite(IOperation operation, bool tracked, IDeconstructionAssignmentOperation? deconstruction = null)
    {
        Operation = operation;
        Tracked = tracked;
        Deconstruction = deconstruction;
    }

    /// <summary>The declarator, assignment or loop that writes the local; for a deconstruction, the local's reference in its target.</summary>
    public IOperation Operation { get; }
    /// <summary>False for writes the model does not follow (ref/out, increments).</summary>
    public bool Tracked { get; }
    /// <summary>The deconstruction that writes the local (<c>var (a, b) = ...</c>), if that is the write.</summary>
    public IDeconstructionAssignmentOperation? Deconstruction { get; }

    /// <summary>Where the write takes effect: a foreach variable before the body, anything else after itself.</summary>
    public int End => Operation is IForEachLoopOperation forEach ? forEach.Collection.Syntax.Span.End
        : (Deconstruction ?? Operation).Syntax.Span.End;
}

