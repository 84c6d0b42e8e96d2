using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>Calls: TorchSharp tensor methods and losses, modules, helpers, lambdas — what each returns.</summary>
internal sealed partial class DegreeEvaluator
{
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
        "masked_fill", "cos", "sin", "erf", "gelu", "silu",
        // Same shape as the input: the noise of a VAE's reparameterisation (randn_like(logvar)).
        "randn_like", "rand_like", "zeros_like", "ones_like", "empty_like", "full_like");

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
                var min = arguments.FirstOrDefault(a => a.Parameter?.Name is "min" or "minimum" or "min_value" or "value") ??
                          arguments.FirstOrDefault(a => a.Parameter?.Name is not ("max" or "maximum" or "max_value"));
                if (value.IsCount) return min is not null && KeepsOffZero(min.Value, Eval(min.Value, frame, loss: false)) ? value.Guarded() : value;
                // Clamping a reduced value (a normaliser, typically at 1) keeps its scale for every batch that matters.
                if (value.Kind == ValueKind.Reduced) return value;
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
        // A custom loss module declared in this compilation (two or more inputs, or a Loss subclass): interpret its
        // forward. A one-input module is a model, whose output on a batch keeps the batch axis (below).
        var lossLike = invocation.Arguments.Length >= 2 || TorchSharpSymbols.InheritsFrom(module.Type, _symbols.Loss3);
        if (lossLike && FindForward(module.Type as INamedTypeSymbol, invocation.Arguments.Length) is { } forward && _index.BodyOf(forward) is { } body)
            return CallBody(body, invocation.Arguments, frame, null, loss, forward);
        // Only a two-input module can be a loss criterion (Loss<Tensor, Tensor, Tensor>): a model's receiver (often a
        // field, whose writes only the whole compilation knows) need not be looked up.
        var receiver = invocation.Arguments.Length == 2 ? Eval(module, frame, loss: false) : BatchValue.Unknown;
        var inputs = invocation.Arguments.Select(a => Eval(a.Value, frame, loss: false)).ToList();
        var anyPerSample = inputs.Any(v => v.Kind == ValueKind.PerSample);
        if (receiver.Kind == ValueKind.LossCriterion)
            return anyPerSample && receiver.Reduction is { } reduction ? ApplyReduction(reduction) : BatchValue.Unknown;
        if (TorchSharpSymbols.InheritsFrom(module.Type, _symbols.Loss3)) return BatchValue.Unknown;
        // A model: its output on a batch has a batch axis.
        return anyPerSample && inputs.All(v => v.Kind != ValueKind.PerSample || v.Degree == 0) ? BatchValue.PerSample(0) : BatchValue.Unknown;
    }

    /// <summary>
    /// Element <paramref name="index"/> of a tuple: of a tuple literal, or of what a model declared in the compilation
    /// returns (<c>var (recon, mu, logvar) = vae.forward(x)</c>), by interpreting its <c>forward</c> with the call's
    /// inputs; or of a batch from a DataLoader. A library module's tuple (nn.LSTM's hidden state is not batch-major) and
    /// anything else: unknown.
    /// </summary>
    private BatchValue TupleElement(IOperation? tuple, int index, Frame frame, bool loss, int depth = 0)
    {
        tuple = tuple?.WalkDownConversions();
        switch (tuple)
        {
            case ITupleOperation literal:
                return index < literal.Elements.Length ? Eval(literal.Elements[index], frame, loss) : BatchValue.Unknown;
            // var output = vae.forward(x); ... output.Item1
            case ILocalReferenceOperation local when depth < 4 && _index.ReachingWrite(local) is { Deconstruction: null } write:
                if (LoaderCreation.ValueOf(write.Operation) is { } value) return TupleElement(value, index, frame, loss, depth + 1);
                // foreach (var batch in loader) { var (x, y) = batch; ... }: a part of a batch.
                return write.Operation is IForEachLoopOperation && Eval(local, frame, loss: false).Kind == ValueKind.BatchContainer
                    ? BatchValue.PerSample(0)
                    : BatchValue.Unknown;
            case IInvocationOperation { TargetMethod.Name: "forward" or "call", Instance: { } module } call
                when _symbols.IsModule(module.Type) && frame.Depth < MaxCallDepth &&
                     FindForward(module.Type as INamedTypeSymbol, call.Arguments.Length) is { } forward && _index.BodyOf(forward) is { } body:
                return ReturnedElement(body, index, call.Arguments, frame, forward);
            default:
                // Anything else (a helper's tuple: var (x, y) = MakeData(n)) is not interpreted.
                return BatchValue.Unknown;
        }
    }

    /// <summary>Element <paramref name="index"/> of the tuples a body returns, its parameters bound as <see cref="CallBody"/> binds them.</summary>
    private BatchValue ReturnedElement(IOperation body, int index, ImmutableArray<IArgumentOperation> arguments, Frame caller, IMethodSymbol callee)
    {
        // A recursive model (a forward that calls itself on parts of its input) would be interpreted again at every
        // level, for every element of every call: exponential. Its own calls are unknown instead.
        if (!_forwardsInProgress.Add(callee.OriginalDefinition)) return BatchValue.Unknown;
        try
        {
            var frame = new Frame(null, BindArguments(arguments, caller, callee), caller.Depth + 1);
            BatchValue? result = null;
            foreach (var returned in LoaderCreation.Returns(body))
            {
                var value = returned.WalkDownConversions() is ITupleOperation literal && index < literal.Elements.Length
                    ? Eval(literal.Elements[index], frame, loss: false)
                    : BatchValue.Unknown;
                result = result is null ? value : BatchValue.Join(result, value);
            }
            return result ?? BatchValue.Unknown;
        }
        finally
        {
            _forwardsInProgress.Remove(callee.OriginalDefinition);
        }
    }

    /// <summary>The position of a deconstructed local in its deconstruction's (outer) tuple, or null when nested.</summary>
    private static int? TupleElementIndex(ILocalReferenceOperation part, IDeconstructionAssignmentOperation deconstruction)
    {
        // var (a, b) = ...: Declaration(Tuple(a, b)); (var a, var b) = ...: Tuple(Declaration(a), Declaration(b)).
        IOperation element = part.Parent is IDeclarationExpressionOperation declaration ? declaration : part;
        if (element.Parent is not ITupleOperation tuple) return null;
        var target = deconstruction.Target is IDeclarationExpressionOperation { Expression: var expression } ? expression : deconstruction.Target;
        if (!ReferenceEquals(tuple, target)) return null;
        var index = tuple.Elements.IndexOf(element);
        return index >= 0 ? index : null;
    }

    /// <summary>The position of a tuple's element field (<c>Item2</c>, or its name), or null past the seventh.</summary>
    private static int? TupleElementIndex(IFieldSymbol element)
    {
        var elements = element.ContainingType.TupleElements;
        for (var i = 0; i < elements.Length; i++)
        {
            if (SymbolEqualityComparer.Default.Equals(elements[i].CorrespondingTupleField, element.CorrespondingTupleField)) return i;
        }
        return null;
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
        var frame = new Frame(lexicalParent, BindArguments(arguments, caller, callee), caller.Depth + 1, caller, arguments, callee);
        BatchValue? result = null;
        foreach (var returned in LoaderCreation.Returns(body))
        {
            var value = Eval(returned, frame, loss);
            result = result is null ? value : BatchValue.Join(result, value);
        }
        return result ?? BatchValue.Unknown;
    }

    /// <summary>The callee's parameters bound to the values of the caller's arguments (by ordinal, as delegates need).</summary>
    private Dictionary<IParameterSymbol, BatchValue> BindArguments(ImmutableArray<IArgumentOperation> arguments, Frame caller, IMethodSymbol? callee)
    {
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
        return bound;
    }
}
