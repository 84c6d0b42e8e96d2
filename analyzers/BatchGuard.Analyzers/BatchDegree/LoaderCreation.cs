using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

internal enum DropLastSetting { Absent, True, False, NotConstant }

/// <summary>
/// A place where a TorchSharp DataLoader is created: <c>torch.utils.data.DataLoader(...)</c>, <c>new DataLoader(...)</c>,
/// <c>new IterableDataLoader(...)</c>, <c>new DataLoader&lt;T,S&gt;(...)</c>, or a user subclass's <c>base(...)</c> call.
/// Bound by symbol, never by name.
/// </summary>
internal sealed class LoaderCreation
{
    private LoaderCreation(IOperation creation, ImmutableArray<IArgumentOperation> arguments)
    {
        Creation = creation;
        BatchSize = Find(arguments, "batchSize");
        DropLast = Find(arguments, "drop_last");
        Shuffle = Find(arguments, "shuffle");
        Dataset = Find(arguments, "dataset");
        DropLastSetting = DropLast is null ? DropLastSetting.Absent
            : DropLast.Value.WalkDownConversions().ConstantValue is { HasValue: true, Value: bool b } ? (b ? DropLastSetting.True : DropLastSetting.False)
            : DropLastSetting.NotConstant;
        BatchSizeConstant = AsLong(BatchSize?.Value.WalkDownConversions().ConstantValue);
        ShufflesConstantly = Shuffle?.Value.WalkDownConversions().ConstantValue is { HasValue: true, Value: true };
    }

    public IOperation Creation { get; }
    public SyntaxNode Syntax => Creation.Syntax;

    /// <summary>Where diagnostics go: the creation expression, or <c>base(...)</c> without its colon.</summary>
    public Location Location => Syntax is Microsoft.CodeAnalysis.CSharp.Syntax.ConstructorInitializerSyntax initializer
        ? Location.Create(initializer.SyntaxTree, Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(initializer.ThisOrBaseKeyword.SpanStart, initializer.Span.End))
        : Syntax.GetLocation();
    public IArgumentOperation? BatchSize { get; }
    public IArgumentOperation? DropLast { get; }
    public IArgumentOperation? Shuffle { get; }
    public IArgumentOperation? Dataset { get; }
    public DropLastSetting DropLastSetting { get; }
    public long? BatchSizeConstant { get; }
    public bool ShufflesConstantly { get; }

    /// <summary>The dataset size when it is visible (a TensorDataset over <c>torch.randn(1024, ...)</c>), else null.</summary>
    public long? DatasetSize { get; private set; }

    /// <summary>The dataset size is provably a multiple of the batch size, or the batch size is 1: every batch is full.</summary>
    public bool IsExact => BatchSizeConstant == 1 || DatasetSize is { } n && BatchSizeConstant is { } b && b > 0 && n % b == 0;

    /// <summary>Can this loader yield a short final batch? drop_last absent or literally false, and not provably exact.</summary>
    public bool CanYieldShortBatch => DropLastSetting is DropLastSetting.Absent or DropLastSetting.False && !IsExact;

    /// <summary>The loader's name in messages: the variable, field or property it is stored in, else its code.</summary>
    public string Name
    {
        get
        {
            var parent = Creation.Parent;
            while (parent is IConversionOperation or IVariableInitializerOperation) parent = parent.Parent;
            return parent switch
            {
                IVariableDeclaratorOperation declarator => declarator.Symbol.Name,
                ISimpleAssignmentOperation { Target: IFieldReferenceOperation f } => f.Field.Name,
                ISimpleAssignmentOperation { Target: IPropertyReferenceOperation p } => p.Property.Name,
                ISimpleAssignmentOperation { Target: ILocalReferenceOperation l } => l.Local.Name,
                IFieldInitializerOperation { InitializedFields.Length: > 0 } initializer => initializer.InitializedFields[0].Name,
                IPropertyInitializerOperation { InitializedProperties.Length: > 0 } property => property.InitializedProperties[0].Name,
                _ => Shorten(Syntax.ToString()),
            };
        }
    }

    /// <summary>Why the final batch can be short, for messages.</summary>
    public string ShortBatchReason =>
        DatasetSize is { } n && BatchSizeConstant is { } b && b > 0
            ? $"{n} samples in batches of {b} leave a final batch of {n % b}"
            : BatchSizeConstant is { } size
                ? $"batch size {size}, dataset size not known to be a multiple of it, no drop_last"
                : $"batch size '{Shorten(BatchSize?.Value.Syntax.ToString() ?? "?")}', no drop_last";

    public static string Shorten(string text)
    {
        text = string.Join(" ", text.Split(new[] { '\r', '\n', '\t', ' ' }, StringSplitOptions.RemoveEmptyEntries));
        return text.Length <= 60 ? text : text.Substring(0, 57) + "...";
    }

    /// <summary>The creation this operation is, or null. <paramref name="index"/> follows user subclasses to their base(...) call.</summary>
    public static LoaderCreation? TryCreate(IOperation operation, TorchSharpSymbols symbols, ISourceLookup? index = null)
    {
        if (!IsCreation(operation, symbols)) return null;
        var result = operation is IInvocationOperation invocation
            ? new LoaderCreation(invocation, invocation.Arguments)
            : new LoaderCreation(operation, ((IObjectCreationOperation)operation).Arguments);
        if (result is not null && index is not null) result.DatasetSize = DatasetSizeOf(result.Dataset?.Value, index, symbols);
        return result;
    }

    /// <summary>Whether <see cref="TryCreate"/> would return a creation for this operation (cheap: no dataset lookup).</summary>
    public static bool IsCreation(IOperation operation, TorchSharpSymbols symbols) => operation switch
    {
        IInvocationOperation { TargetMethod: { Name: "DataLoader" } method } =>
            SymbolEqualityComparer.Default.Equals(method.ContainingType, symbols.UtilsData),
        IInvocationOperation { TargetMethod.MethodKind: MethodKind.Constructor } baseCall =>
            baseCall.Instance is IInstanceReferenceOperation && IsTorchSharpLoader(baseCall.TargetMethod.ContainingType, symbols),
        IObjectCreationOperation creation => IsTorchSharpLoader(creation.Type, symbols),
        _ => false,
    };

    private static bool IsTorchSharpLoader(ITypeSymbol? type, TorchSharpSymbols symbols) =>
        type is not null && SymbolEqualityComparer.Default.Equals(type.ContainingAssembly, symbols.Tensor?.ContainingAssembly) &&
        symbols.IsDataLoader(type);

    /// <summary>
    /// The creations an expression of loader type can come from: through locals, fields, properties, parameters (every
    /// call site in the compilation), factory methods, and user subclasses' constructors. Empty when none is visible.
    /// </summary>
    public static ImmutableArray<LoaderCreation> Resolve(IOperation expression, ISourceLookup index)
    {
        // The same loop's collection is resolved for its consumers, for each backward() inside it and for BG0001.
        if (index.ResolvedLoaders.TryGetValue(expression, out var resolved)) return resolved;
        var found = new List<LoaderCreation>();
        Resolve(expression, index, found, new HashSet<IOperation>(IdentityComparer.Instance), depth: 0);
        var distinct = ImmutableArray.CreateBuilder<LoaderCreation>(found.Count);
        foreach (var creation in found)
        {
            if (!distinct.Any(c => ReferenceEquals(c.Creation, creation.Creation))) distinct.Add(creation);
        }
        return index.ResolvedLoaders[expression] = distinct.ToImmutable();
    }

    private static void Resolve(IOperation? expression, ISourceLookup index, List<LoaderCreation> found, HashSet<IOperation> visited, int depth)
    {
        if (expression is null || depth > 8) return;
        expression = expression.WalkDownConversions();
        if (!visited.Add(expression)) return;
        var symbols = index.Symbols;
        if (TryCreate(expression, symbols, index) is { } creation)
        {
            found.Add(creation);
            return;
        }
        switch (expression)
        {
            case IObjectCreationOperation { Constructor: { } constructor } when symbols.IsDataLoader(expression.Type):
                // A user subclass: its constructor's base(...) call is the creation.
                foreach (var block in index.BlocksOf(constructor))
                {
                    foreach (var call in block.DescendantsAndSelf().OfType<IInvocationOperation>())
                    {
                        if (TryCreate(call, symbols, index) is { } baseCreation) found.Add(baseCreation);
                    }
                }
                break;
            case ILocalReferenceOperation local:
                if (index.ReachingWrite(local) is { } write) Resolve(ValueOf(write.Operation), index, found, visited, depth + 1);
                break;
            case IFieldReferenceOperation field:
                foreach (var value in index.WritesTo(field.Field)) Resolve(value, index, found, visited, depth + 1);
                break;
            case IPropertyReferenceOperation property:
                foreach (var value in index.WritesTo(property.Property)) Resolve(value, index, found, visited, depth + 1);
                break;
            case IParameterReferenceOperation parameter when parameter.Parameter.ContainingSymbol is IMethodSymbol method:
                foreach (var call in index.CallsTo(method))
                {
                    var arguments = call is IInvocationOperation i ? i.Arguments : ((IObjectCreationOperation)call).Arguments;
                    foreach (var argument in arguments)
                    {
                        if (argument.Parameter?.Ordinal == parameter.Parameter.Ordinal) Resolve(argument.Value, index, found, visited, depth + 1);
                    }
                }
                break;
            case IInvocationOperation invocation when index.BodyOf(invocation.TargetMethod) is { } factory:
                foreach (var ret in Returns(factory)) Resolve(ret, index, found, visited, depth + 1);
                break;
            case IConditionalOperation conditional:
                Resolve(conditional.WhenTrue, index, found, visited, depth + 1);
                Resolve(conditional.WhenFalse, index, found, visited, depth + 1);
                break;
            case ICoalesceOperation coalesce:
                Resolve(coalesce.Value, index, found, visited, depth + 1);
                Resolve(coalesce.WhenNull, index, found, visited, depth + 1);
                break;
        }
    }

    /// <summary>The value a tracked local write stores (declarator initializer or assignment value).</summary>
    public static IOperation? ValueOf(IOperation write) => write switch
    {
        IVariableDeclaratorOperation declarator => declarator.GetVariableInitializer()?.Value,
        ISimpleAssignmentOperation assignment => assignment.Value,
        _ => null,
    };

    /// <summary>Returned values of a body, not counting nested lambdas and local functions.</summary>
    public static IEnumerable<IOperation> Returns(IOperation body)
    {
        var stack = new Stack<IOperation>();
        stack.Push(body);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            if (current is IReturnOperation { ReturnedValue: { } value }) yield return value;
            foreach (var child in current.ChildOperations)
            {
                if (child is IAnonymousFunctionOperation or ILocalFunctionOperation) continue;
                stack.Push(child);
            }
        }
    }

    private static readonly ImmutableHashSet<string> SizedFactories =
        ImmutableHashSet.Create("randn", "rand", "zeros", "ones", "empty", "full", "randn_like", "arange");

    /// <summary>A TensorDataset over a tensor created with a constant first dimension.</summary>
    private static long? DatasetSizeOf(IOperation? dataset, ISourceLookup index, TorchSharpSymbols symbols)
    {
        var followed = Follow(dataset, index);
        if (followed is IObjectCreationOperation { Type: INamedTypeSymbol datasetType }) return ConstantCount(datasetType, symbols);
        var creation = followed as IInvocationOperation;
        if (creation is null || creation.TargetMethod.Name != "TensorDataset" ||
            !SymbolEqualityComparer.Default.Equals(creation.TargetMethod.ContainingType, symbols.UtilsData)) return null;
        var first = creation.Arguments.FirstOrDefault()?.Value;
        if (first is IArrayCreationOperation { Initializer: { } tensors } && tensors.ElementValues.Length > 0) first = tensors.ElementValues[0];
        if (Follow(first, index) is not IInvocationOperation factory || !SizedFactories.Contains(factory.TargetMethod.Name) ||
            !SymbolEqualityComparer.Default.Equals(factory.TargetMethod.ContainingType, symbols.Torch)) return null;
        var size = factory.Arguments.FirstOrDefault()?.Value.WalkDownConversions();
        if (size is IArrayCreationOperation { Initializer: { } dims } && dims.ElementValues.Length > 0) size = dims.ElementValues[0].WalkDownConversions();
        return factory.TargetMethod.Name == "arange" && factory.Arguments.Count(a => a.ArgumentKind != ArgumentKind.DefaultValue) != 1
            ? null
            : AsLong(size?.ConstantValue);
    }

    /// <summary>
    /// The size of a user data set whose <c>Count</c> is a literal (<c>public override long Count { get; } = 1024;</c>,
    /// <c>public override long Count =&gt; 1024;</c>, <c>get { return 1024; }</c>): the most derived declaration in source, when
    /// it has no setter and the type never assigns it. Read from the syntax alone; null for anything else.
    /// </summary>
    private static long? ConstantCount(INamedTypeSymbol type, TorchSharpSymbols symbols)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.ContainingAssembly, symbols.Tensor?.ContainingAssembly)) return null;
            foreach (var member in current.GetMembers("Count"))
            {
                if (member is not IPropertySymbol { IsStatic: false, SetMethod: null, DeclaringSyntaxReferences.Length: 1 } property) continue;
                if (property.DeclaringSyntaxReferences[0].GetSyntax() is not PropertyDeclarationSyntax declaration) return null;
                var value = declaration.ExpressionBody?.Expression;
                if (value is null && declaration.AccessorList?.Accessors is { Count: 1 } accessors &&
                    accessors[0].Body?.Statements is { Count: 1 } statements && statements[0] is ReturnStatementSyntax returned) value = returned.Expression;
                if (value is null && declaration.Initializer is { } initializer && !current.DeclaringSyntaxReferences.Any(part => AssignsCount(part.GetSyntax())))
                    value = initializer.Value;
                return value is LiteralExpressionSyntax { Token.Value: var literal } && literal is int or long ? Convert.ToInt64(literal, System.Globalization.CultureInfo.InvariantCulture) : null;
            }
        }
        return null;
    }

    /// <summary>Whether a type declaration (one part of a partial type) assigns its <c>Count</c> (a getter-only auto-property set in a constructor).</summary>
    private static bool AssignsCount(SyntaxNode? type) =>
        type is null || type.DescendantNodes().OfType<AssignmentExpressionSyntax>().Any(a => a.Left is IdentifierNameSyntax { Identifier.ValueText: "Count" } or
            MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name.Identifier.ValueText: "Count" });

    private static IOperation? Follow(IOperation? operation, ISourceLookup index)
    {
        for (var i = 0; i < 4 && operation is not null; i++)
        {
            operation = operation.WalkDownConversions();
            if (operation is ILocalReferenceOperation local && index.ReachingWrite(local) is { } write) operation = ValueOf(write.Operation);
            else return operation;
        }
        return operation;
    }

    public static long? AsLong(Optional<object?>? constant) =>
        constant is { HasValue: true, Value: { } value } && value is int or long or short or byte or uint or ushort
            ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    /// <summary>
    /// Drop-last handling in a consuming loop: a comparison with a batch's actual size (<c>x.shape[0]</c>,
    /// <c>x.size(0)</c>) — the loop skips or rescales short batches.
    /// </summary>
    /// <remarks>
    /// Such a comparison names <c>shape</c> or <c>size</c> (member names, which no alias renames), so only the
    /// comparisons around those words in the loop body's text are bound (<see cref="SourceMarks"/>), not every
    /// operation of the body; without a semantic model the body is walked.
    /// </remarks>
    /// <summary>
    /// The loader a manual enumerator's loop reads (<c>using var e = loader.GetEnumerator(); while (e.MoveNext())</c>),
    /// conversions removed; null for any other loop.
    /// </summary>
    public static IOperation? EnumeratedByManualLoop(IWhileLoopOperation loop, ISourceLookup lookup) =>
        loop.Condition?.WalkDownConversions() is IInvocationOperation { TargetMethod.Name: "MoveNext", Arguments.Length: 0, Instance: ILocalReferenceOperation enumerator }
            ? EnumeratedLoader(enumerator, lookup)
            : null;

    /// <summary>The loader an enumerator local was obtained from (<c>loader.GetEnumerator()</c>), or null.</summary>
    public static IOperation? EnumeratedLoader(ILocalReferenceOperation enumerator, ISourceLookup lookup) =>
        lookup.ReachingWrite(enumerator) is { } write &&
        ValueOf(write.Operation)?.WalkDownConversions() is IInvocationOperation { TargetMethod.Name: "GetEnumerator", Arguments.Length: 0, Instance: { } loader } &&
        lookup.Symbols.IsDataLoader(loader.WalkDownConversions().Type)
            ? loader.WalkDownConversions()
            : null;

    public static bool HandlesShortBatches(ILoopOperation loop)
    {
        var body = loop.Body;
        if (body is null) return false;
        if (loop.SemanticModel is not { } model) return body.Descendants().OfType<IBinaryOperation>().Any(ComparesActualBatchSize);
        var marks = SourceMarks.For(model.Compilation);
        var bodySyntax = body.Syntax;
        return ComparisonNear(SourceMarks.Shape) || ComparisonNear(SourceMarks.Size);

        bool ComparisonNear(string word)
        {
            foreach (var token in marks.WholeWordTokens(bodySyntax.SyntaxTree, word, bodySyntax))
            {
                if (EnclosingComparison(token, model, IsActualBatchSize, out var stoppedAt)) return true;
                // var n = x.shape[0]; if (n < BatchSize) continue;
                if (stoppedAt is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator } &&
                    model.GetOperation(declarator) is IVariableDeclaratorOperation { Initializer.Value: { } initial } declared && IsActualBatchSize(initial) &&
                    LocalIsCompared(declared.Symbol))
                    return true;
            }
            return false;
        }

        bool LocalIsCompared(ILocalSymbol local)
        {
            if (local.Name.Length == 0) return false; // a name not typed yet
            foreach (var use in marks.WholeWordTokens(bodySyntax.SyntaxTree, local.Name, bodySyntax))
            {
                // Only a test that skips: `if (n < BatchSize) continue;` (not `for (i = 0; i < n; ...)`, a loop over the batch).
                if (EnclosingComparison(use, model, o => o.WalkDownConversions() is ILocalReferenceOperation read &&
                        SymbolEqualityComparer.Default.Equals(read.Local, local), out var comparison) &&
                    comparison?.Parent is IfStatementSyntax { Statement: var then } ifStatement && ifStatement.Condition == comparison && Skips(then))
                    return true;
            }
            return false;
        }

        static bool Skips(StatementSyntax statement) =>
            statement is ContinueStatementSyntax or BreakStatementSyntax or ReturnStatementSyntax or ThrowStatementSyntax ||
            statement is BlockSyntax { Statements.Count: > 0 } block && Skips(block.Statements[block.Statements.Count - 1]);
    }

    /// <summary>
    /// Whether a comparison (<c>&lt;</c>, <c>==</c>, ..., or a pattern test <c>is &lt; n</c>) around <paramref name="token"/>,
    /// within its expression, compares an operand <paramref name="isSubject"/> accepts; <paramref name="stoppedAt"/> is
    /// the first node above the expression.
    /// </summary>
    private static bool EnclosingComparison(SyntaxToken token, SemanticModel model, Func<IOperation, bool> isSubject, out SyntaxNode? stoppedAt)
    {
        var node = token.Parent;
        for (; node is ExpressionSyntax or ArgumentSyntax or BracketedArgumentListSyntax or ArgumentListSyntax; node = node.Parent)
        {
            if (node is BinaryExpressionSyntax binary && IsComparison(binary) && model.GetOperation(binary) is IBinaryOperation comparison &&
                IsComparisonOperator(comparison) && (isSubject(comparison.LeftOperand) || isSubject(comparison.RightOperand)))
            {
                stoppedAt = node;
                return true;
            }
            if (node is IsPatternExpressionSyntax && model.GetOperation(node) is IIsPatternOperation test && isSubject(test.Value))
            {
                stoppedAt = node;
                return true;
            }
        }
        stoppedAt = node;
        return false;
    }

    private static bool IsComparison(BinaryExpressionSyntax binary) =>
        binary.Kind() is SyntaxKind.LessThanExpression or SyntaxKind.LessThanOrEqualExpression or SyntaxKind.GreaterThanExpression or
            SyntaxKind.GreaterThanOrEqualExpression or SyntaxKind.EqualsExpression or SyntaxKind.NotEqualsExpression;

    private static bool ComparesActualBatchSize(IBinaryOperation b) =>
        IsComparisonOperator(b) && (IsActualBatchSize(b.LeftOperand) || IsActualBatchSize(b.RightOperand));

    private static bool IsComparisonOperator(IBinaryOperation b) =>
        b.OperatorKind is BinaryOperatorKind.LessThan or BinaryOperatorKind.LessThanOrEqual or BinaryOperatorKind.GreaterThan or
            BinaryOperatorKind.GreaterThanOrEqual or BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals;

    /// <summary><c>x.shape[0]</c>, <c>x.size(0)</c> or <c>x.size()[0]</c> on a tensor.</summary>
    public static bool IsActualBatchSize(IOperation operation)
    {
        operation = operation.WalkDownConversions();
        if (operation is IArrayElementReferenceOperation element && element.Indices.Length == 1 &&
            AsLong(element.Indices[0].WalkDownConversions().ConstantValue) == 0)
        {
            var array = element.ArrayReference.WalkDownConversions();
            return array is IPropertyReferenceOperation { Property.Name: "shape" } or IInvocationOperation { TargetMethod.Name: "size", Arguments.Length: 0 };
        }
        return operation is IInvocationOperation { TargetMethod.Name: "size", Arguments.Length: 1 } size &&
               AsLong(size.Arguments[0].Value.WalkDownConversions().ConstantValue) == 0;
    }

    private static IArgumentOperation? Find(ImmutableArray<IArgumentOperation> arguments, string name)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.Name == name && argument.ArgumentKind != ArgumentKind.DefaultValue) return argument;
        }
        return null;
    }
}
