using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// Computes the batch degree of the value that reaches a <c>backward()</c> call, following locals, fields, lambdas,
/// helper methods and custom loss modules declared in the compilation, and records every batch-dependent
/// normalisation met on the way (BG0003-BG0005). Only operations in "loss position" (whose value flows into the
/// loss, not into a divisor, a model input or a logging read) produce findings. When a degree is unknown nothing is
/// claimed: a miss is better than a false positive.
/// </summary>
internal sealed class DegreeEvaluator
{
    private const int MaxCallDepth = 6;

    private readonly CompilationIndex _index;
    private readonly TorchSharpSymbols _symbols;
    private readonly Func<IOperation, string, bool> _isNominalName;
    private readonly Dictionary<(string Rule, SyntaxNode Site), LossFinding> _findings;

    // Per root (one backward() call).
    private readonly Dictionary<(IOperation, Frame, bool), BatchValue> _memo = new();
    private readonly HashSet<(IOperation, Frame)> _inProgress = new();
    private readonly HashSet<IOperation> _collections = new();
    private readonly List<LossFinding> _touched = new();
    private ImmutableArray<LoaderCreation> _feedingLoaders;
    private bool _batchesAreFull;

    public DegreeEvaluator(CompilationIndex index, Func<IOperation, string, bool> isNominalName,
        Dictionary<(string Rule, SyntaxNode Site), LossFinding> findings)
    {
        _index = index;
        _symbols = index.Symbols;
        _isNominalName = isNominalName;
        _findings = findings;
    }

    /// <summary>
    /// Evaluates the loss of one <c>backward()</c> call. <paramref name="feedingLoaders"/> are the loaders whose loop
    /// encloses it (their batch size is the nominal one); <paramref name="batchesAreFull"/> when they never yield a
    /// short batch (drop_last, an exact dataset, or a loop that skips short batches): then dividing by the nominal
    /// batch size is exact and BG0003 stays silent.
    /// </summary>
    public BatchValue EvaluateBackward(IInvocationOperation backward, ImmutableArray<LoaderCreation> feedingLoaders,
        IEnumerable<IOperation> enclosingCollections, bool batchesAreFull)
    {
        _memo.Clear();
        _inProgress.Clear();
        _collections.Clear();
        _touched.Clear();
        _feedingLoaders = feedingLoaders;
        _batchesAreFull = batchesAreFull;
        if (backward.Instance is null) return BatchValue.Unknown;
        var result = Eval(backward.Instance, new Frame(null, null, 0), loss: true);
        foreach (var finding in _touched)
        {
            finding.FeedingCollections.UnionWith(_collections);
            finding.FeedingCollections.UnionWith(enclosingCollections);
        }
        return result;
    }

    private sealed class Frame
    {
        private readonly Dictionary<IParameterSymbol, BatchValue>? _arguments;

        public Frame(Frame? lexicalParent, Dictionary<IParameterSymbol, BatchValue>? arguments, int depth)
        {
            LexicalParent = lexicalParent;
            _arguments = arguments;
            Depth = depth;
        }

        public Frame? LexicalParent { get; }
        public int Depth { get; }

        public BatchValue? Lookup(IParameterSymbol parameter)
        {
            for (var frame = this; frame is not null; frame = frame.LexicalParent)
            {
                if (frame._arguments is not null && frame._arguments.TryGetValue(parameter, out var value)) return value;
            }
            return null;
        }
    }

    private BatchValue Eval(IOperation? operation, Frame frame, bool loss)
    {
        if (operation is null) return BatchValue.Unknown;
        operation = operation.WalkDownConversions();
        var key = (operation, frame, loss);
        if (_memo.TryGetValue(key, out var cached)) return cached;
        if (!_inProgress.Add((operation, frame))) return BatchValue.Unknown; // a cycle
        try
        {
            var value = Compute(operation, frame, loss);
            _memo[key] = value;
            return value;
        }
        finally
        {
            _inProgress.Remove((operation, frame));
        }
    }

    private BatchValue Compute(IOperation operation, Frame frame, bool loss)
    {
        if (operation.ConstantValue.HasValue) return BatchValue.Constant;
        switch (operation)
        {
            case ILocalReferenceOperation local:
                return LocalValue(local, frame, loss);
            case IParameterReferenceOperation parameter:
                return frame.Lookup(parameter.Parameter) ??
                       // An unbound tensor parameter (a training step that receives its batch): presume per-sample.
                       (_symbols.IsTensor(parameter.Type) ? BatchValue.PerSample(0) : BatchValue.Unknown);
            case IFieldReferenceOperation or IPropertyReferenceOperation:
                return MemberValue((IMemberReferenceOperation)operation, frame);
            case IArrayElementReferenceOperation element:
                return ShapeElement(element, frame);
            case IBinaryOperation binary:
                return Binary(binary, frame, loss);
            case IUnaryOperation { OperatorKind: UnaryOperatorKind.Minus or UnaryOperatorKind.Plus } unary:
                return Eval(unary.Operand, frame, loss);
            case IInvocationOperation invocation:
                return Invocation(invocation, frame, loss);
            case IConditionalOperation { WhenFalse: not null } conditional when conditional.Type is not null:
                return BatchValue.Join(Eval(conditional.WhenTrue, frame, loss), Eval(conditional.WhenFalse, frame, loss));
            case IDelegateCreationOperation delegateCreation:
                return Eval(delegateCreation.Target, frame, loss);
            case IAnonymousFunctionOperation lambda:
                return BatchValue.Function(lambda, null);
            case IMethodReferenceOperation methodReference:
                return BatchValue.Function(null, methodReference.Method);
            case ISimpleAssignmentOperation assignment:
                return Eval(assignment.Value, frame, loss);
            case ICompoundAssignmentOperation { OperatorKind: BinaryOperatorKind.Divide or BinaryOperatorKind.Multiply } compound:
                return Arithmetic(compound.OperatorKind, compound.Target, compound.Value, compound, frame, loss);
            case ICompoundAssignmentOperation:
                // total += x is usually an accumulator across iterations, which source order cannot follow.
                return BatchValue.Unknown;
            default:
                return BatchValue.Unknown;
        }
    }

    // ---- locals, parameters, members ----

    private BatchValue LocalValue(ILocalReferenceOperation read, Frame frame, bool loss)
    {
        if (_index.ReachingWrite(read) is not { } write) return BatchValue.Unknown;
        BatchValue value;
        switch (write.Operation)
        {
            case IForEachLoopOperation forEach:
                var collection = forEach.Collection.WalkDownConversions();
                if (!_symbols.IsDataLoader(collection.Type)) return BatchValue.Unknown;
                _collections.Add(collection);
                if (forEach.LoopControlVariable is IVariableDeclaratorOperation) return BatchValue.Container(collection);
                // A part of a deconstructed batch: foreach (var (x, y) in loader).
                return _symbols.IsTensor(read.Type) ? BatchValue.PerSample(0) : BatchValue.Unknown;
            case ICompoundAssignmentOperation compound:
                value = Eval(compound, frame, loss);
                break;
            default:
                value = Eval(LoaderCreation.ValueOf(write.Operation), frame, loss);
                break;
        }
        // `if (numPositives == 0) continue;` or any other test of the count guards it.
        if (value.CanBeZero && IsTestedInACondition(read)) value = value.Guarded();
        return value;
    }

    private static bool IsTestedInACondition(ILocalReferenceOperation read)
    {
        var root = CompilationIndex.Root(read);
        foreach (var operation in root.Descendants())
        {
            var condition = operation switch
            {
                IConditionalOperation c => c.Condition,
                IWhileLoopOperation w => w.Condition,
                _ => null,
            };
            if (condition is not null && condition.DescendantsAndSelf().OfType<ILocalReferenceOperation>()
                    .Any(r => SymbolEqualityComparer.Default.Equals(r.Local, read.Local))) return true;
        }
        return false;
    }

    private BatchValue MemberValue(IMemberReferenceOperation reference, Frame frame)
    {
        var member = reference.Member;
        var type = reference.Type;
        if (reference.Instance is { } instance && !(instance is IInstanceReferenceOperation))
        {
            var owner = Eval(instance, frame, loss: false);
            // b["img"], b[0], b.Item1 on a batch from a DataLoader.
            if (owner.Kind == ValueKind.BatchContainer && _symbols.IsTensor(type)) return BatchValue.PerSample(0);
            if (_symbols.IsTensor(instance.Type)) return BatchValue.Unknown; // x.grad, x.T, ...: not modelled
        }
        if (IsNumeric(type))
        {
            if (_isNominalName(reference, member.Name)) return BatchValue.Nominal(reference.Syntax.ToString());
            return LooksLikeACount(member.Name) ? BatchValue.Unknown : BatchValue.Constant;
        }
        if (_symbols.IsTensor(type) || _symbols.IsModule(type))
        {
            // A loss or criterion stored in a field: agree over every write in the compilation.
            var writes = _index.WritesTo(member);
            if (writes.Count == 0 || writes.Count > 4) return BatchValue.Unknown;
            var joined = Eval(writes[0], new Frame(null, null, frame.Depth + 1), loss: false);
            for (var i = 1; i < writes.Count; i++) joined = BatchValue.Join(joined, Eval(writes[i], new Frame(null, null, frame.Depth + 1), loss: false));
            return joined;
        }
        return BatchValue.Unknown;
    }

    private static bool IsNumeric(ITypeSymbol? type) =>
        type?.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Single or
            SpecialType.System_Double or SpecialType.System_Int16 or SpecialType.System_UInt32 or SpecialType.System_UInt64;

    private static bool LooksLikeACount(string name)
    {
        var lower = name.ToLowerInvariant();
        return lower.Contains("count") || lower.Contains("num") || lower.Contains("size") || lower.Contains("total") ||
               lower.Contains("len") || lower.StartsWith("n", StringComparison.Ordinal) && name.Length > 1 && char.IsUpper(name[1]);
    }

    /// <summary><c>x.shape[0]</c> / <c>x.size()[0]</c>: the actual batch size of a per-sample tensor.</summary>
    private BatchValue ShapeElement(IArrayElementReferenceOperation element, Frame frame)
    {
        if (element.Indices.Length != 1) return BatchValue.Unknown;
        var array = element.ArrayReference.WalkDownConversions();
        IOperation? tensor = array switch
        {
            IPropertyReferenceOperation { Property.Name: "shape" } shape when _symbols.IsTensor(shape.Instance?.Type) => shape.Instance,
            IInvocationOperation { TargetMethod.Name: "size", Arguments.Length: 0 } size when _symbols.IsTensor(size.Instance?.Type) => size.Instance,
            _ => null,
        };
        if (tensor is null) return BatchValue.Unknown;
        return SizeOfDimension(tensor, LoaderCreation.AsLong(element.Indices[0].WalkDownConversions().ConstantValue), frame);
    }

    private BatchValue SizeOfDimension(IOperation tensor, long? dimension, Frame frame)
    {
        if (dimension is null) return BatchValue.Unknown;
        if (dimension != 0) return BatchValue.Constant;
        return Eval(tensor, frame, loss: false).Kind == ValueKind.PerSample ? BatchValue.Count(canBeZero: false, isHost: true) : BatchValue.Unknown;
    }

    // ---- arithmetic ----

    private BatchValue Binary(IBinaryOperation binary, Frame frame, bool loss)
    {
        switch (binary.OperatorKind)
        {
            case BinaryOperatorKind.Add or BinaryOperatorKind.Subtract or BinaryOperatorKind.Multiply or BinaryOperatorKind.Divide:
                return Arithmetic(binary.OperatorKind, binary.LeftOperand, binary.RightOperand, binary, frame, loss);
            case BinaryOperatorKind.GreaterThan or BinaryOperatorKind.GreaterThanOrEqual or BinaryOperatorKind.LessThan or
                BinaryOperatorKind.LessThanOrEqual or BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals or
                BinaryOperatorKind.And or BinaryOperatorKind.Or:
                return Mask(Eval(binary.LeftOperand, frame, false), Eval(binary.RightOperand, frame, false));
            default:
                return BatchValue.Unknown;
        }
    }

    private static BatchValue Mask(BatchValue left, BatchValue right) =>
        left.Kind == ValueKind.PerSample || right.Kind == ValueKind.PerSample ? BatchValue.PerSample(0, isMask: true) : BatchValue.Unknown;

    private BatchValue Arithmetic(BinaryOperatorKind kind, IOperation leftOperation, IOperation rightOperation, IOperation site, Frame frame, bool loss)
    {
        var left = Eval(leftOperation, frame, loss);
        var right = Eval(rightOperation, frame, kind != BinaryOperatorKind.Divide && loss);
        switch (kind)
        {
            case BinaryOperatorKind.Add or BinaryOperatorKind.Subtract:
                if (left.IsTensorWithDegree && right.IsTensorWithDegree)
                    return left.Kind == right.Kind && left.Degree == right.Degree ? BatchValue.Join(left, right) : BatchValue.Unknown;
                if (left.IsTensorWithDegree && IsConstant(right))
                    return kind == BinaryOperatorKind.Add && IsPositiveConstant(rightOperation) ? left.Guarded().WithoutMask() : left.WithoutMask();
                if (right.IsTensorWithDegree && IsConstant(left))
                    return kind == BinaryOperatorKind.Add && IsPositiveConstant(leftOperation) ? right.Guarded().WithoutMask() : BatchValue.Unknown;
                return BatchValue.Unknown;

            case BinaryOperatorKind.Multiply:
                if (left.IsTensorWithDegree && right.IsTensorWithDegree)
                {
                    var degree = left.Degree + right.Degree;
                    // mean * (1.0 / n): the reciprocal of a batch count normalises an averaged loss a second time.
                    if (loss && degree == -1 && left.Kind == ValueKind.Reduced && right.Kind == ValueKind.Reduced &&
                        (left.Degree == 0 && right.IsReciprocalCount || right.Degree == 0 && left.IsReciprocalCount))
                    {
                        var (kept, factor) = left.Degree == 0 ? (leftOperation, rightOperation) : (rightOperation, leftOperation);
                        ReportNormalizedTwice(kept, factor, site, "multiplied", keepLeft: left.Degree == 0);
                    }
                    return left.Kind == ValueKind.PerSample || right.Kind == ValueKind.PerSample
                        ? BatchValue.PerSample(degree, isMask: left.IsMask && right.IsMask)
                        : BatchValue.Reduced(degree);
                }
                if (left.IsTensorWithDegree && IsConstant(right)) return left.IsCount ? left : left.WithoutMask();
                if (right.IsTensorWithDegree && IsConstant(left)) return right.IsCount ? right : right.WithoutMask();
                return BatchValue.Unknown;

            case BinaryOperatorKind.Divide:
                return Divide(left, right, leftOperation, rightOperation, site, loss);

            default:
                return BatchValue.Unknown;
        }
    }

    private BatchValue Divide(BatchValue numerator, BatchValue divisor, IOperation numeratorOperation, IOperation divisorOperation,
        IOperation site, bool loss)
    {
        // 1.0 / n of a batch count: degree -1, remembered so that `mean * (1.0 / n)` reads as a second normalisation.
        if (numerator.Kind == ValueKind.Constant && divisor.IsCount && divisor.Degree == 1) return BatchValue.ReciprocalCount();
        if (!numerator.IsTensorWithDegree) return BatchValue.Unknown;
        if (divisor.Kind == ValueKind.Constant && IsNominalBatchSize(divisorOperation)) divisor = BatchValue.Nominal(divisorOperation.Syntax.ToString());

        if (divisor.Kind == ValueKind.NominalBatchSize)
        {
            if (numerator.Kind == ValueKind.Reduced && numerator.Degree == 1 && !numerator.IsCount)
            {
                if (loss && !_batchesAreFull) ReportSumOverNominalBatchSize(numeratorOperation, divisorOperation, site);
                return BatchValue.Reduced(0); // what the author meant; do not cascade into BG0004
            }
            return numerator.WithoutMask();
        }
        if (divisor.Kind == ValueKind.Constant) return numerator.IsCount ? numerator : numerator.WithoutMask();
        if (divisor.Kind == ValueKind.Reduced)
        {
            if (divisor.CanBeZero && loss) ReportCountThatCanBeZero(divisorOperation, divisor, site);
            var degree = numerator.Degree - divisor.Degree;
            if (numerator.Kind == ValueKind.PerSample) return BatchValue.PerSample(degree);
            if (loss && numerator.Degree == 0 && divisor.IsCount && divisor.Degree == 1)
                ReportNormalizedTwice(numeratorOperation, divisorOperation, site, "divided", keepLeft: true);
            return BatchValue.Reduced(degree);
        }
        if (divisor.Kind == ValueKind.PerSample && numerator.Kind == ValueKind.PerSample)
            return BatchValue.PerSample(numerator.Degree - divisor.Degree);
        return BatchValue.Unknown;
    }

    private static bool IsConstant(BatchValue value) => value.Kind is ValueKind.Constant or ValueKind.NominalBatchSize;

    private static bool IsPositiveConstant(IOperation operation) =>
        operation.WalkDownConversions().ConstantValue is { HasValue: true, Value: { } value } &&
        value is IConvertible convertible && !(value is string or bool) &&
        convertible.ToDouble(System.Globalization.CultureInfo.InvariantCulture) > 0;

    /// <summary>The divisor is the batch size the feeding loader was configured with, or a symbol named like one.</summary>
    private bool IsNominalBatchSize(IOperation divisor)
    {
        divisor = divisor.WalkDownConversions();
        var constant = LoaderCreation.AsLong(divisor.ConstantValue);
        var symbol = ReferencedSymbol(divisor);
        foreach (var loader in _feedingLoaders)
        {
            if (constant is not null && loader.BatchSizeConstant == constant) return true;
            if (symbol is not null && loader.BatchSize is { } batchSize &&
                SymbolEqualityComparer.Default.Equals(symbol, ReferencedSymbol(batchSize.Value.WalkDownConversions()))) return true;
        }
        return symbol is not null && _isNominalName(divisor, symbol.Name);
    }

    private static ISymbol? ReferencedSymbol(IOperation operation) => operation switch
    {
        ILocalReferenceOperation l => l.Local,
        IParameterReferenceOperation p => p.Parameter,
        IMemberReferenceOperation m => m.Member,
        _ => null,
    };

    // ---- invocations ----

    private BatchValue Invocation(IInvocationOperation invocation, Frame frame, bool loss)
    {
        var method = invocation.TargetMethod;
        var containing = method.ContainingType;

        if (containing?.SpecialType == SpecialType.System_Object) return BatchValue.Unknown;
        if (containing is { Name: "Math", ContainingNamespace.Name: "System" }) return MathCall(invocation, frame, loss);

        if (method.MethodKind == MethodKind.DelegateInvoke && invocation.Instance is { } function)
            return CallFunction(Eval(function, frame, loss: false), invocation, frame, loss);
        if (method.MethodKind == MethodKind.LocalFunction)
        {
            var local = CompilationIndex.Root(invocation).Descendants().OfType<ILocalFunctionOperation>()
                .FirstOrDefault(f => SymbolEqualityComparer.Default.Equals(f.Symbol, method.OriginalDefinition));
            return local?.Body is { } localBody ? CallBody(localBody, invocation.Arguments, frame, frame, loss) : BatchValue.Unknown;
        }

        if (_symbols.IsTensor(containing) && !method.IsStatic && invocation.Instance is { } receiver)
            return TensorMethod(method.Name, receiver, invocation, Skip(invocation.Arguments, 0), frame, loss);
        if (SymbolEqualityComparer.Default.Equals(containing, _symbols.Torch) && invocation.Arguments.Length > 0 &&
            _symbols.IsTensor(invocation.Arguments[0].Value.WalkDownConversions().Type))
            return TensorMethod(method.Name, invocation.Arguments[0].Value, invocation, Skip(invocation.Arguments, 1), frame, loss);

        if (SymbolEqualityComparer.Default.Equals(containing, _symbols.NnFunctional))
            return FunctionalCall(invocation, frame);

        if (method.IsStatic && SymbolEqualityComparer.Default.Equals(containing, _symbols.Nn) &&
            TorchSharpSymbols.InheritsFrom(method.ReturnType, _symbols.Loss3))
            return ReductionOf(invocation) is { } reduction ? BatchValue.Criterion(reduction) : BatchValue.Unknown;

        if (method.Name is "forward" or "call" && invocation.Instance is { } module && _symbols.IsModule(module.Type))
            return ModuleCall(invocation, module, frame, loss);

        if (_index.BodyOf(method) is { } body && !method.IsAbstract)
            return CallBody(body, invocation.Arguments, frame, null, loss);

        return BatchValue.Unknown;
    }

    private static ImmutableArray<IArgumentOperation> Skip(ImmutableArray<IArgumentOperation> arguments, int count) =>
        arguments.Where(a => a.ArgumentKind != ArgumentKind.DefaultValue).Skip(count).ToImmutableArray();

    /// <summary><c>Math.Max(count, 1)</c> guards a count against zero.</summary>
    private BatchValue MathCall(IInvocationOperation invocation, Frame frame, bool loss)
    {
        if (invocation.TargetMethod.Name != "Max" || invocation.Arguments.Length != 2) return BatchValue.Unknown;
        var (a, b) = (invocation.Arguments[0].Value, invocation.Arguments[1].Value);
        if (IsPositiveConstant(b)) return Eval(a, frame, loss).Guarded();
        if (IsPositiveConstant(a)) return Eval(b, frame, loss).Guarded();
        return BatchValue.Unknown;
    }

    private static readonly ImmutableHashSet<string> DegreePreserving = ImmutableHashSet.Create(
        "abs", "abs_", "neg", "neg_", "negative", "clone", "contiguous", "detach", "to", "cpu", "cuda", "to_type", "type",
        "@float", "@double", "half", "bfloat16", "view", "reshape", "flatten", "squeeze", "unsqueeze", "view_as",
        "reshape_as", "alias", "requires_grad_");

    private static readonly ImmutableHashSet<string> Elementwise = ImmutableHashSet.Create(
        "pow", "square", "sqrt", "exp", "log", "log1p", "sigmoid", "tanh", "relu", "softplus", "log_softmax", "softmax",
        "masked_fill", "cos", "sin", "erf", "gelu", "silu");

    private static readonly ImmutableHashSet<string> Comparisons = ImmutableHashSet.Create(
        "gt", "ge", "lt", "le", "eq", "ne", "greater", "greater_equal", "less", "less_equal", "not_equal", "logical_and",
        "logical_or", "logical_not", "isnan", "isinf", "isfinite", "bool");

    private static readonly ImmutableHashSet<string> HostReads = ImmutableHashSet.Create(
        "item", "ToSingle", "ToDouble", "ToInt64", "ToInt32", "ToInt16", "ToScalar");

    private BatchValue TensorMethod(string name, IOperation receiver, IInvocationOperation invocation,
        ImmutableArray<IArgumentOperation> arguments, Frame frame, bool loss)
    {
        switch (name)
        {
            case "sum" or "nansum" or "mean" or "nanmean":
                return Reduce(Eval(receiver, frame, loss), Dimensions(arguments), isSum: name.EndsWith("sum", StringComparison.Ordinal));
            case "count_nonzero":
                return Dimensions(arguments) is { AllDimensions: true } && Eval(receiver, frame, false).Kind == ValueKind.PerSample
                    ? BatchValue.Count(canBeZero: true)
                    : BatchValue.Unknown;
            case "numel":
                return Eval(receiver, frame, false).Kind == ValueKind.PerSample ? BatchValue.Count(canBeZero: false, isHost: true) : BatchValue.Unknown;
            case "size" when arguments.Length == 1:
                return SizeOfDimension(receiver, LoaderCreation.AsLong(arguments[0].Value.WalkDownConversions().ConstantValue), frame);
            case "div" or "div_" or "divide" or "true_divide" or "true_divide_" when arguments.Length == 1:
                return Arithmetic(BinaryOperatorKind.Divide, receiver, arguments[0].Value, invocation, frame, loss);
            case "mul" or "mul_" or "multiply" when arguments.Length == 1:
                return Arithmetic(BinaryOperatorKind.Multiply, receiver, arguments[0].Value, invocation, frame, loss);
            case "add" or "add_" when arguments.Length == 1:
                return Arithmetic(BinaryOperatorKind.Add, receiver, arguments[0].Value, invocation, frame, loss);
            case "sub" or "sub_" or "subtract" when arguments.Length == 1:
                return Arithmetic(BinaryOperatorKind.Subtract, receiver, arguments[0].Value, invocation, frame, loss);
            case "clamp_min" or "clamp_min_" or "clamp" or "clamp_" or "clip":
            {
                var value = Eval(receiver, frame, loss);
                var min = arguments.FirstOrDefault(a => a.Parameter?.Name is "min" or "minimum" or "min_value" or "value") ?? arguments.FirstOrDefault();
                if (value.IsCount) return min is not null && IsPositiveConstant(min.Value) ? value.Guarded() : value;
                return value.Kind == ValueKind.PerSample && value.Degree == 0 ? BatchValue.PerSample(0) : BatchValue.Unknown;
            }
        }
        if (HostReads.Contains(name))
        {
            var value = Eval(receiver, frame, loss);
            return value.Kind == ValueKind.Reduced ? value.AsHost() : BatchValue.Unknown;
        }
        if (Comparisons.Contains(name))
            return Mask(Eval(receiver, frame, false), arguments.Length > 0 ? Eval(arguments[0].Value, frame, false) : BatchValue.Unknown);
        if (DegreePreserving.Contains(name))
            return Eval(receiver, frame, loss);
        if (Elementwise.Contains(name))
        {
            var value = Eval(receiver, frame, loss);
            return value.Kind == ValueKind.PerSample && value.Degree == 0 ? BatchValue.PerSample(0) : BatchValue.Unknown;
        }
        return BatchValue.Unknown;
    }

    private readonly struct Dims
    {
        public Dims(bool all, bool includesBatch, bool known)
        {
            AllDimensions = all;
            IncludesBatch = includesBatch;
            Known = known;
        }

        public bool AllDimensions { get; }
        public bool IncludesBatch { get; }
        public bool Known { get; }
    }

    /// <summary>Which dimensions a reduction's arguments name: none (all), some including 0, only others, or unknown.</summary>
    private static Dims Dimensions(ImmutableArray<IArgumentOperation> arguments)
    {
        var dims = arguments.Where(a => a.Parameter is { } p &&
                                        (p.Name is "dim" or "dims" or "dimensions" or "axis" ||
                                         p.Type.SpecialType is SpecialType.System_Int64 or SpecialType.System_Int32 ||
                                         p.Type is IArrayTypeSymbol)).ToList();
        if (dims.Count == 0) return new Dims(all: true, includesBatch: true, known: true);
        if (dims.Count > 1) return new Dims(false, false, known: false);
        var value = dims[0].Value.WalkDownConversions();
        var constants = value is IArrayCreationOperation { Initializer: { } init }
            ? init.ElementValues.Select(e => LoaderCreation.AsLong(e.WalkDownConversions().ConstantValue)).ToList()
            : new List<long?> { LoaderCreation.AsLong(value.ConstantValue) };
        if (constants.Count == 0 || constants.Any(c => c is null or < 0)) return new Dims(false, false, known: false);
        return new Dims(all: false, includesBatch: constants.Contains(0), known: true);
    }

    private static BatchValue Reduce(BatchValue value, Dims dims, bool isSum)
    {
        if (!dims.Known) return BatchValue.Unknown;
        if (value.Kind == ValueKind.Reduced) return value;
        if (value.Kind != ValueKind.PerSample) return BatchValue.Unknown;
        if (!dims.IncludesBatch) return BatchValue.PerSample(value.Degree);
        if (isSum && value.IsMask && value.Degree == 0) return BatchValue.Count(canBeZero: true);
        return BatchValue.Reduced(value.Degree + (isSum ? 1 : 0));
    }

    /// <summary>torch.nn.functional: losses with a reduction; activations keep the batch axis.</summary>
    private BatchValue FunctionalCall(IInvocationOperation invocation, Frame frame)
    {
        var inputs = invocation.Arguments.Where(a => _symbols.IsTensor(a.Parameter?.Type))
            .Select(a => Eval(a.Value, frame, loss: false)).ToList();
        var anyPerSample = inputs.Any(v => v.Kind == ValueKind.PerSample);
        if (invocation.TargetMethod.Parameters.Any(p => p.Name == "reduction"))
            return ReductionOf(invocation) is { } reduction && anyPerSample ? ApplyReduction(reduction) : BatchValue.Unknown;
        return inputs.Count > 0 && inputs[0].Kind == ValueKind.PerSample && inputs[0].Degree == 0 ? BatchValue.PerSample(0) : BatchValue.Unknown;
    }

    private static BatchValue ApplyReduction(string reduction) => reduction switch
    {
        "Mean" => BatchValue.Reduced(0),
        "Sum" => BatchValue.Reduced(1),
        "None" => BatchValue.PerSample(0),
        _ => BatchValue.Unknown,
    };

    /// <summary>The Reduction member name passed (or defaulted), or null when it is not a constant.</summary>
    private string? ReductionOf(IInvocationOperation invocation)
    {
        var argument = invocation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "reduction");
        object? value;
        if (argument is null || argument.ArgumentKind == ArgumentKind.DefaultValue)
        {
            var parameter = invocation.TargetMethod.Parameters.FirstOrDefault(p => p.Name == "reduction");
            if (parameter is null) return null;
            if (argument is null && !parameter.HasExplicitDefaultValue) return null;
            value = argument is not null ? argument.Value.ConstantValue.Value : parameter.ExplicitDefaultValue;
        }
        else
        {
            var constant = argument.Value.WalkDownConversions().ConstantValue;
            if (!constant.HasValue) return null;
            value = constant.Value;
        }
        if (_symbols.Reduction is null || value is null) return null;
        foreach (var member in _symbols.Reduction.GetMembers().OfType<IFieldSymbol>())
        {
            if (member.HasConstantValue && Equals(member.ConstantValue, value)) return member.Name;
        }
        return null;
    }

    private BatchValue ModuleCall(IInvocationOperation invocation, IOperation module, Frame frame, bool loss)
    {
        // A custom module declared in this compilation: interpret its forward.
        if (FindForward(module.Type as INamedTypeSymbol, invocation.Arguments.Length) is { } forward && _index.BodyOf(forward) is { } body)
            return CallBody(body, invocation.Arguments, frame, null, loss, forward);
        var receiver = Eval(module, frame, loss: false);
        var inputs = invocation.Arguments.Select(a => Eval(a.Value, frame, loss: false)).ToList();
        var anyPerSample = inputs.Any(v => v.Kind == ValueKind.PerSample);
        if (receiver.Kind == ValueKind.LossCriterion)
            return anyPerSample && receiver.Reduction is { } reduction ? ApplyReduction(reduction) : BatchValue.Unknown;
        if (TorchSharpSymbols.InheritsFrom(module.Type, _symbols.Loss3)) return BatchValue.Unknown;
        // A model: its output on a batch has a batch axis.
        return anyPerSample && inputs.All(v => v.Kind != ValueKind.PerSample || v.Degree == 0) ? BatchValue.PerSample(0) : BatchValue.Unknown;
    }

    private IMethodSymbol? FindForward(INamedTypeSymbol? type, int arity)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (!current.Locations.Any(l => l.IsInSource)) return null;
            foreach (var candidate in current.GetMembers("forward").OfType<IMethodSymbol>())
            {
                if (candidate.Parameters.Length == arity && !candidate.IsAbstract && _index.BodyOf(candidate) is not null) return candidate;
            }
        }
        return null;
    }

    private BatchValue CallFunction(BatchValue function, IInvocationOperation invocation, Frame frame, bool loss)
    {
        if (function.Kind != ValueKind.Function) return BatchValue.Unknown;
        if (function.Origin is IAnonymousFunctionOperation lambda)
            return CallBody(lambda.Body, invocation.Arguments, frame, frame, loss, lambda.Symbol);
        if (function.Method is { } method && _index.BodyOf(method) is { } body)
            return CallBody(body, invocation.Arguments, frame, null, loss, method);
        return BatchValue.Unknown;
    }

    /// <summary>
    /// Evaluates what a body returns with its parameters bound to the caller's argument values. The arguments bind by
    /// ordinal to <paramref name="callee"/> (needed for delegates, whose Invoke parameters are not the lambda's).
    /// </summary>
    private BatchValue CallBody(IOperation body, ImmutableArray<IArgumentOperation> arguments, Frame caller, Frame? lexicalParent,
        bool loss, IMethodSymbol? callee = null)
    {
        if (caller.Depth >= MaxCallDepth) return BatchValue.Unknown;
        var bound = new Dictionary<IParameterSymbol, BatchValue>(SymbolEqualityComparer.Default);
        foreach (var argument in arguments)
        {
            if (argument.Parameter is not { } parameter) continue;
            var target = callee is not null && parameter.Ordinal < callee.Parameters.Length ? callee.Parameters[parameter.Ordinal] : parameter;
            bound[target.OriginalDefinition] = argument.ArgumentKind == ArgumentKind.DefaultValue
                ? BatchValue.Constant
                : Eval(argument.Value, caller, loss: false);
            bound[target] = bound[target.OriginalDefinition];
        }
        var frame = new Frame(lexicalParent, bound, caller.Depth + 1);
        BatchValue? result = null;
        foreach (var returned in LoaderCreation.Returns(body))
        {
            var value = Eval(returned, frame, loss);
            result = result is null ? value : BatchValue.Join(result, value);
        }
        return result ?? BatchValue.Unknown;
    }

    // ---- findings ----

    private void ReportSumOverNominalBatchSize(IOperation numerator, IOperation divisor, IOperation site)
    {
        var actual = ActualBatchSizeExpression(numerator);
        var properties = ImmutableDictionary<string, string?>.Empty.Add(LossFinding.Keys.ActualBatchSize, actual);
        Record(RuleIds.SumDividedByNominalBatchSize, site, divisor,
            new object[] { Text(numerator), Text(divisor), actual ?? "the first dimension of the summed tensor" }, properties);
    }

    private void ReportNormalizedTwice(IOperation loss, IOperation normalizer, IOperation site, string how, bool keepLeft) =>
        Record(RuleIds.LossNormalizedTwice, site, normalizer,
            new object[] { Text(loss), how, Text(normalizer), "1/batch size" },
            ImmutableDictionary<string, string?>.Empty.Add(LossFinding.Keys.KeepOperand, keepLeft ? "left" : "right"));

    private void ReportCountThatCanBeZero(IOperation divisor, BatchValue count, IOperation site)
    {
        var kind = count.IsHost ? "host" : "tensor";
        var guard = count.IsHost ? $"Math.Max({Text(divisor)}, 1)" : ".clamp_min(1)";
        Record(RuleIds.DivisionByCountThatCanBeZero, site, divisor, new object[] { Text(divisor), guard },
            ImmutableDictionary<string, string?>.Empty.Add(LossFinding.Keys.CountKind, kind));
    }

    private void Record(string rule, IOperation site, IOperation divisor, object[] args, ImmutableDictionary<string, string?> properties)
    {
        if (!_findings.TryGetValue((rule, site.Syntax), out var finding))
        {
            _findings[(rule, site.Syntax)] = finding = new LossFinding(rule, site, divisor, args, properties);
        }
        _touched.Add(finding);
    }

    private static string Text(IOperation operation) => LoaderCreation.Shorten(operation.Syntax.ToString());

    /// <summary>
    /// <c>pred.shape[0]</c> for a numerator like <c>(pred - y).abs().sum()</c>: the leftmost simple reference (a
    /// local, parameter, field, or an indexer on one) inside the summed expression, so the fix stays in scope.
    /// </summary>
    private string? ActualBatchSizeExpression(IOperation numerator)
    {
        var current = numerator.WalkDownConversions();
        for (var i = 0; i < 16; i++)
        {
            switch (current)
            {
                case IInvocationOperation { Instance: { } instance }:
                    current = instance.WalkDownConversions();
                    continue;
                case IInvocationOperation { Instance: null, Arguments.Length: > 0 } call when _symbols.IsTensor(call.Arguments[0].Value.WalkDownConversions().Type):
                    current = call.Arguments[0].Value.WalkDownConversions();
                    continue;
                case IBinaryOperation binary:
                    current = binary.LeftOperand.WalkDownConversions();
                    continue;
                case ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation:
                case IPropertyReferenceOperation { Instance: null or ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation or IInstanceReferenceOperation } property
                    when property.Arguments.All(a => a.Value.ConstantValue.HasValue):
                    return _symbols.IsTensor(current.Type) ? current.Syntax.ToString() + ".shape[0]" : null;
                default:
                    return null;
            }
        }
        return null;
    }
}
