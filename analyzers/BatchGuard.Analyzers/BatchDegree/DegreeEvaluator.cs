using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// Computes the batch degree of the value that reaches a <c>backward()</c> call, following locals, fields, lambdas,
/// helper methods and custom loss modules declared in the compilation, and records every batch-dependent
/// normalisation met on the way (BG0003-BG0005). Only operations in "loss position" (whose value flows into the
/// loss, not into a divisor, a model input or a logging read) produce findings. When a degree is unknown nothing is
/// claimed: a miss is better than a false positive.
/// </summary>
internal sealed partial class DegreeEvaluator
{
    private const int MaxCallDepth = 6;
    private const int MaxEvaluationDepth = 256;

    private readonly ISourceLookup _index;
    private readonly TorchSharpSymbols _symbols;
    private readonly Func<IOperation, string, bool> _isNominalName;
    private readonly Dictionary<FindingKey, LossFinding> _findings;

    // Per root (one backward() call). Values already computed and the evaluations in progress live in their Frame:
    // a new root starts from a new frame.
    private int _inProgress;
    // Fields and properties read as a loss, a criterion or a loss function whose writes are being evaluated: a write
    // that reads its own member (`_ema = _ema + ...`) is a cycle, and followed naively doubles the work at every level.
    private readonly HashSet<ISymbol> _membersInProgress = new(SymbolEqualityComparer.Default);
    // Settings named like the batch size already judged (does it hold a batch's actual size?), and those being judged:
    // a write or call site that reads the same setting again is a cycle, answered "no".
    private readonly Dictionary<ISymbol, bool> _holdsActualSize = new(SymbolEqualityComparer.Default);
    private readonly HashSet<IOperation> _collections = new(IdentityComparer.Instance);
    private readonly List<LossFinding> _touched = new();
    // The findings the last evaluation added (not merely touched), so that it can be taken back (RetractLastEvaluation).
    private readonly List<FindingKey> _created = new();
    private ImmutableArray<LoaderCreation> _feedingLoaders;
    private IInvocationOperation? _backward;
    // Models whose forward is being interpreted for a tuple element: a forward that calls itself is not followed again.
    private readonly HashSet<IMethodSymbol> _forwardsInProgress = new(SymbolEqualityComparer.Default);
    private bool _batchesAreFull;

    public DegreeEvaluator(ISourceLookup index, Func<IOperation, string, bool> isNominalName,
        Dictionary<FindingKey, LossFinding> findings)
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
        _inProgress = 0;
        _membersInProgress.Clear();
        _holdsActualSize.Clear();
        _collections.Clear();
        _touched.Clear();
        _created.Clear();
        _feedingLoaders = feedingLoaders;
        _batchesAreFull = batchesAreFull;
        _backward = backward;
        _forwardsInProgress.Clear();
        if (backward.Instance is null) return BatchValue.Unknown;
        var result = Eval(backward.Instance, new Frame(null, null, 0), loss: true);
        foreach (var finding in _touched)
        {
            finding.FeedingCollections.UnionWith(_collections);
            finding.FeedingCollections.UnionWith(enclosingCollections);
        }
        return result;
    }

    /// <summary>
    /// Whether the loss of <paramref name="backward"/> is, as written or through locals, the output of a TorchSharp loss
    /// (<c>criterion.forward(output, target)</c> with a library criterion, <c>F.cross_entropy(...)</c>, or its mean or sum
    /// over the batch, <c>F.cross_entropy(..., reduction: None).mean()</c>): no finding can come
    /// from it, since a loss's inputs are read as inputs, never in loss position (<see cref="ModuleCall"/>,
    /// <see cref="FunctionalCall"/>), and nothing divides or scales its output. Most training loops are this; they
    /// need no evaluation, nor their loaders resolved. A custom loss module of the compilation is interpreted, not this.
    /// </summary>
    public bool ReachesOnlyALibraryLoss(IInvocationOperation backward)
    {
        var value = backward.Instance;
        for (var depth = 0; depth < 6 && value is not null; depth++)
        {
            value = value.WalkDownConversions();
            if (value is ILocalReferenceOperation read)
            {
                if (_index.ReachingWrite(read) is not { Operation: IVariableDeclaratorOperation or ISimpleAssignmentOperation } write) return false;
                value = LoaderCreation.ValueOf(write.Operation);
                continue;
            }
            if (value is not IInvocationOperation invocation) return false;
            var containing = invocation.TargetMethod.ContainingType;
            // A reduction of a per-sample loss (`perSample.mean()`, `.sum()`): read in loss position like its receiver.
            if (invocation.TargetMethod.Name is "mean" or "sum" && _symbols.IsTensor(containing) && invocation.Instance is { } reduced &&
                invocation.Arguments.All(a => !_symbols.IsTensor(a.Value.WalkDownConversions().Type)))
            {
                value = reduced;
                continue;
            }
            if (SymbolEqualityComparer.Default.Equals(containing, _symbols.NnFunctional)) return true;
            if (invocation.TargetMethod.Name is not ("forward" or "call") || invocation.Instance is not { } module || !_symbols.IsModule(module.Type)) return false;
            // What ModuleCall interprets: a loss-like module whose forward is declared in the compilation.
            var lossLike = invocation.Arguments.Length >= 2 || TorchSharpSymbols.InheritsFrom(module.Type, _symbols.Loss3);
            return !(lossLike && FindForward(module.Type as INamedTypeSymbol, invocation.Arguments.Length) is not null);
        }
        return false;
    }

    /// <summary>Whether the last evaluation found a sum divided by the nominal batch size (BG0003), which depends on the feeding loaders.</summary>
    public bool LastEvaluationFoundSumOverNominalBatchSize => _touched.Any(f => f.RuleId == RuleIds.SumDividedByNominalBatchSize);

    /// <summary>Removes the findings the last evaluation added, to evaluate the same <c>backward()</c> again with more facts.</summary>
    public void RetractLastEvaluation()
    {
        foreach (var key in _created) _findings.Remove(key);
        _created.Clear();
        _touched.Clear();
    }

    /// <summary>
    /// One evaluation context: the arguments a helper was called with, and what was computed in it. The memo and the
    /// cycle check are keyed by operation within a frame (dictionaries keyed by reference types: a value-tuple key
    /// would be JIT-compiled anew in every cold compiler process).
    /// </summary>
    private sealed class Frame
    {
        private readonly Dictionary<IParameterSymbol, BatchValue>? _arguments;
        private Dictionary<IOperation, BatchValue>? _lossValues;
        private Dictionary<IOperation, BatchValue>? _values;
        private HashSet<IOperation>? _inProgress;

        public Frame(Frame? lexicalParent, Dictionary<IParameterSymbol, BatchValue>? arguments, int depth,
            Frame? caller = null, ImmutableArray<IArgumentOperation> callArguments = default, IMethodSymbol? callee = null)
        {
            Callee = callee;
            LexicalParent = lexicalParent;
            _arguments = arguments;
            Depth = depth;
            Caller = caller;
            CallArguments = callArguments;
        }

        public Frame? LexicalParent { get; }
        public int Depth { get; }
        /// <summary>The frame of the call being interpreted (a helper's body), and that call's arguments; null at the root.</summary>
        public Frame? Caller { get; }
        public ImmutableArray<IArgumentOperation> CallArguments { get; }
        /// <summary>The method, local function or lambda the arguments bind to, when it is not the invoked method (a delegate's).</summary>
        public IMethodSymbol? Callee { get; }

        /// <summary>Values computed in this frame, read as the loss (<paramref name="loss"/>) or as any value.</summary>
        public Dictionary<IOperation, BatchValue> Memo(bool loss) => loss
            ? _lossValues ??= new Dictionary<IOperation, BatchValue>(IdentityComparer.Instance)
            : _values ??= new Dictionary<IOperation, BatchValue>(IdentityComparer.Instance);

        /// <summary>Operations being evaluated in this frame (a cycle when one is asked for again).</summary>
        public HashSet<IOperation> InProgress => _inProgress ??= new HashSet<IOperation>(IdentityComparer.Instance);

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
        var memo = frame.Memo(loss);
        if (memo.TryGetValue(operation, out var cached)) return cached;
        // A cycle, or a chain of locals so long that following it could exhaust the compiler's stack: give up.
        if (_inProgress >= MaxEvaluationDepth || !frame.InProgress.Add(operation)) return BatchValue.Unknown;
        _inProgress++;
        try
        {
            var value = Compute(operation, frame, loss);
            memo[operation] = value;
            return value;
        }
        finally
        {
            frame.InProgress.Remove(operation);
            _inProgress--;
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
                       (_symbols.IsTensor(parameter.Type) ? BatchValue.PerSample(0)
                           : IsNumeric(parameter.Type) ? NumberParameterValue(parameter, frame)
                           : BatchValue.Unknown);
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
            case ILocalReferenceOperation part when write.Deconstruction is { } deconstruction:
                value = _symbols.IsTensor(part.Type) && TupleElementIndex(part, deconstruction) is { } index
                    ? TupleElement(deconstruction.Value, index, frame, loss)
                    : BatchValue.Unknown;
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
        foreach (var operation in root.PreOrder())
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
            // e.Current of a manual enumerator over a loader: a batch, as a foreach variable is.
            if (reference is IPropertyReferenceOperation { Property.Name: "Current" } && instance is ILocalReferenceOperation enumerator &&
                LoaderCreation.EnumeratedLoader(enumerator, _index) is { } loader)
                return ManualLoopBatch(reference, loader);
            var owner = Eval(instance, frame, loss: false);
            // b["img"], b[0], b.Item1 on a batch from a DataLoader.
            if (owner.Kind == ValueKind.BatchContainer && _symbols.IsTensor(type)) return BatchValue.PerSample(0);
            // x[.., 0], x[1..]: a slice along the batch axis keeps it; x[0] picks a sample; x.grad, x.T: not modelled.
            if (_symbols.IsTensor(instance.Type))
                return reference is IPropertyReferenceOperation { Property.IsIndexer: true, Arguments.Length: > 0 } indexer &&
                       FirstIndexIsRange(indexer) && owner.Kind == ValueKind.PerSample
                    ? BatchValue.PerSample(owner.Degree)
                    : BatchValue.Unknown;
        }
        // output.Item1, output.recon: an element of a tuple (a user model's outputs).
        if (member is IFieldSymbol { ContainingType.IsTupleType: true } element && reference.Instance is { } tuple &&
            TupleElementIndex(element) is { } elementIndex)
            return TupleElement(tuple, elementIndex, frame, loss: false);
        if (IsNumeric(type))
        {
            if (_isNominalName(reference, member.Name))
                return HoldsABatchsActualSize(reference, frame) ? BatchValue.Unknown : BatchValue.Nominal(reference.Syntax.ToString());
            return LooksLikeACount(member.Name) ? BatchValue.Unknown : BatchValue.Constant;
        }
        // A loss, criterion or loss function stored in a field or property of the user's: agree over every write in the
        // compilation. A library's member (a list's indexer, an enumerator's Current) has no writes worth looking up,
        // and asking would take the block out of as-you-type analysis.
        if ((_symbols.IsTensor(type) || _symbols.IsModule(type) || type?.TypeKind == TypeKind.Delegate) && IsInSource(member))
        {
            var key = member.OriginalDefinition;
            if (frame.Depth >= MaxCallDepth || !_membersInProgress.Add(key)) return BatchValue.Unknown;
            try
            {
                var writes = _index.WritesTo(member);
                if (writes.Count == 0 || writes.Count > 4) return BatchValue.Unknown;
                var joined = Eval(writes[0], new Frame(null, null, frame.Depth + 1), loss: false);
                for (var i = 1; i < writes.Count; i++) joined = BatchValue.Join(joined, Eval(writes[i], new Frame(null, null, frame.Depth + 1), loss: false));
                return joined;
            }
            finally
            {
                _membersInProgress.Remove(key);
            }
        }
        return BatchValue.Unknown;
    }

    /// <summary>
    /// A batch read through <c>e.Current</c> in the manual loop over <paramref name="loader"/> that encloses the
    /// <c>backward()</c> being evaluated: exactly the loops <see cref="TrainingLossAnalysis"/> takes as loader loops
    /// (<c>while (e.MoveNext())</c>), so that the loader's drop_last and the loop's skip of short batches are known.
    /// Any other read (a condition with more in it, an endless reader that resets, a read after the loop): unknown.
    /// The loader feeds the loss (for BG0001) unless that loop skips short batches: a manual loop is no consumer that
    /// BG0001's check looks at.
    /// </summary>
    private BatchValue ManualLoopBatch(IOperation read, IOperation loader)
    {
        for (var current = read.Parent; current is not null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) break;
            if (current is not IWhileLoopOperation loop || !ReferenceEquals(LoaderCreation.EnumeratedByManualLoop(loop, _index), loader)) continue;
            if (_backward is null || !TrainingLoopFinder.IsInside(_backward, loop)) return BatchValue.Unknown;
            if (!LoaderCreation.HandlesShortBatches(loop)) _collections.Add(loader);
            return BatchValue.Container(loader);
        }
        return BatchValue.Unknown;
    }

    private static bool IsInSource(ISymbol symbol)
    {
        foreach (var location in symbol.Locations)
        {
            if (location.IsInSource) return true;
        }
        return false;
    }

    /// <summary>
    /// An unbound number parameter (Train(..., int batchSize)): named like the batch size, the nominal one; named like
    /// a count, unknown (it may come from the batch); otherwise a setting that does not scale with the batch.
    /// </summary>
    private BatchValue NumberParameterValue(IParameterReferenceOperation parameter, Frame frame)
    {
        var name = parameter.Parameter.Name;
        if (_isNominalName(parameter, name))
            return ReceivesABatchsActualSize(parameter, frame) ? BatchValue.Unknown : BatchValue.Nominal(parameter.Syntax.ToString());
        return LooksLikeACount(name) ? BatchValue.Unknown : BatchValue.Constant;
    }

    /// <summary>
    /// A field or property named like the batch size that holds the actual size of a batch, not the setting: a
    /// property whose getter computes it from a batch (<c>long BatchSize => X.shape[0]</c>), or a
    /// member the same method sets from a batch (<c>currentBatchSize = x.shape[0]</c>). Its name does not make it the
    /// nominal size. (Writes in other methods are not looked at: that would need the whole compilation for every
    /// setting named like the batch size, and keep the finding from showing as the user types.)
    /// </summary>
    private bool HoldsABatchsActualSize(IMemberReferenceOperation reference, Frame frame) =>
        Judged(reference.Member.OriginalDefinition, () => HoldsABatchsActualSizeUncached(reference, frame));

    /// <summary>A setting's answer, computed once per <c>backward()</c>; a cycle (the setting asked again while judged) is "no".</summary>
    private bool Judged(ISymbol setting, Func<bool> judge)
    {
        if (_holdsActualSize.TryGetValue(setting, out var known)) return known;
        _holdsActualSize[setting] = false;
        return _holdsActualSize[setting] = judge();
    }

    private bool HoldsABatchsActualSizeUncached(IMemberReferenceOperation reference, Frame frame)
    {
        if (frame.Depth >= MaxCallDepth) return false;
        var member = reference.Member;
        if (member is IPropertySymbol { GetMethod: { } getter } && HasABody(getter))
        {
            if (_index.BodyOf(getter) is not { } body) return false;
            return IsFromABatch(CallBody(body, ImmutableArray<IArgumentOperation>.Empty, frame, null, loss: false, getter));
        }
        foreach (var operation in CompilationIndex.Root(reference).PreOrder())
        {
            if (operation is ISimpleAssignmentOperation { Target: IMemberReferenceOperation target } assignment &&
                SymbolEqualityComparer.Default.Equals(target.Member.OriginalDefinition, member.OriginalDefinition) &&
                !assignment.Value.ConstantValue.HasValue && IsFromABatch(Eval(assignment.Value, new Frame(null, null, frame.Depth + 1), loss: false)))
                return true;
        }
        return false;
    }

    /// <summary>
    /// A parameter named like the batch size that a call site passes the actual size of a batch (<c>Step(x, y,
    /// x.shape[0])</c>). Only asked when the read is in no loop of its own method, so the method may run once per batch:
    /// a parameter read in a loop over the batches holds one value for all of them, a setting.
    /// </summary>
    private bool ReceivesABatchsActualSize(IParameterReferenceOperation read, Frame frame) =>
        Judged(read.Parameter.OriginalDefinition, () => ReceivesABatchsActualSizeUncached(read, frame));

    private bool ReceivesABatchsActualSizeUncached(IParameterReferenceOperation read, Frame frame)
    {
        var parameter = read.Parameter;
        if (parameter.ContainingSymbol is not IMethodSymbol method || frame.Depth >= MaxCallDepth || read.IsInALoopOfItsBody()) return false;
        var calls = method.MethodKind == MethodKind.LocalFunction
            ? CompilationIndex.Root(read).PreOrder().Where(o => o is IInvocationOperation call &&
                SymbolEqualityComparer.Default.Equals(call.TargetMethod.OriginalDefinition, method.OriginalDefinition))
            : _index.CallsTo(method);
        foreach (var call in calls)
        {
            var arguments = call switch
            {
                IInvocationOperation invocation => invocation.Arguments,
                IObjectCreationOperation creation => creation.Arguments,
                _ => default,
            };
            if (arguments.IsDefault) continue;
            foreach (var argument in arguments)
            {
                if (argument.Parameter?.Ordinal == parameter.Ordinal && !argument.Value.ConstantValue.HasValue &&
                    IsFromABatch(Eval(argument.Value, new Frame(null, null, frame.Depth + 1), loss: false))) return true;
            }
        }
        return false;
    }

    private static bool IsFromABatch(BatchValue value) => value.IsCount || value.Kind is ValueKind.Reduced or ValueKind.PerSample;

    private static bool HasABody(IMethodSymbol accessor)
    {
        foreach (var reference in accessor.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is ArrowExpressionClauseSyntax or AccessorDeclarationSyntax { Body: not null } or AccessorDeclarationSyntax { ExpressionBody: not null })
                return true;
        }
        return false;
    }

    private static bool FirstIndexIsRange(IPropertyReferenceOperation indexer)
    {
        var first = indexer.Arguments[0].Value.WalkDownConversions();
        if (first is IArrayCreationOperation { Initializer: { ElementValues.Length: > 0 } indices }) first = indices.ElementValues[0].WalkDownConversions();
        return first is IRangeOperation;
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
                    return kind == BinaryOperatorKind.Add && KeepsOffZero(rightOperation, right) ? left.Guarded().WithoutMask() : left.WithoutMask();
                if (right.IsTensorWithDegree && IsConstant(left))
                    return kind == BinaryOperatorKind.Add && KeepsOffZero(leftOperation, left) ? right.Guarded().WithoutMask() : BatchValue.Unknown;
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
                return Divide(left, right, leftOperation, rightOperation, site, frame, loss);

            default:
                return BatchValue.Unknown;
        }
    }

    private BatchValue Divide(BatchValue numerator, BatchValue divisor, IOperation numeratorOperation, IOperation divisorOperation,
        IOperation site, Frame frame, bool loss)
    {
        // 1.0 / n of a batch count: degree -1, remembered so that `mean * (1.0 / n)` reads as a second normalisation.
        if (numerator.Kind == ValueKind.Constant && divisor.IsCount && divisor.Degree == 1) return BatchValue.ReciprocalCount();
        if (!numerator.IsTensorWithDegree) return BatchValue.Unknown;
        if (divisor.Kind == ValueKind.Constant && IsNominalBatchSize(divisorOperation)) divisor = BatchValue.Nominal(divisorOperation.Syntax.ToString());

        if (divisor.Kind == ValueKind.NominalBatchSize)
        {
            if (numerator.Kind == ValueKind.Reduced && numerator.Degree == 1 && !numerator.IsCount)
            {
                if (loss && !_batchesAreFull) ReportSumOverNominalBatchSize(numeratorOperation, divisorOperation, site, frame);
                return BatchValue.Reduced(0); // what the author meant; do not cascade into BG0004
            }
            return numerator.IsCount ? BatchValue.Unknown : numerator.WithoutMask();
        }
        // A count divided by a constant or a batch size setting (x.shape[0] / MicroBatchSize: the number of micro-batches
        // of a batch) is no longer the batch's size: a loss divided by it may be one of that many backward() calls that
        // add up to the mean.
        if (divisor.Kind == ValueKind.Constant) return numerator.IsCount ? BatchValue.Unknown : numerator.WithoutMask();
        if (divisor.Kind == ValueKind.Reduced)
        {
            if (divisor.CanBeZero && loss) ReportCountThatCanBeZero(divisorOperation, divisor, site, frame);
            var degree = numerator.Degree - divisor.Degree;
            if (numerator.Kind == ValueKind.PerSample) return BatchValue.PerSample(degree);
            // Any reduced divisor of degree 1 (a count, the batch size, a sum of a batch column) normalises by the batch.
            if (loss && numerator.Degree == 0 && divisor.Degree == 1)
                ReportNormalizedTwice(numeratorOperation, divisorOperation, site, "divided", keepLeft: true);
            return BatchValue.Reduced(degree);
        }
        if (divisor.Kind == ValueKind.PerSample && numerator.Kind == ValueKind.PerSample)
            return BatchValue.PerSample(numerator.Degree - divisor.Degree);
        return BatchValue.Unknown;
    }

    private static bool IsConstant(BatchValue value) => value.Kind is ValueKind.Constant or ValueKind.NominalBatchSize;

    /// <summary>
    /// Whether adding <paramref name="operation"/> (or clamping at it) keeps a count off zero: a positive constant, or a
    /// setting whose value is not a known constant (an epsilon or a minimum held in a local, field or parameter:
    /// <c>n + eps</c>, <c>clamp_min(minCount)</c>). A setting of unknown sign counts: a miss is better than a false positive.
    /// </summary>
    private static bool KeepsOffZero(IOperation operation, BatchValue value) =>
        IsPositiveConstant(operation) || !operation.WalkDownConversions().ConstantValue.HasValue && value.Kind == ValueKind.Constant;

    private static bool IsPositiveConstant(IOperation operation) =>
        operation.WalkDownConversions().ConstantValue is { HasValue: true, Value: { } value } &&
        value switch
        {
            int i => i > 0,
            long l => l > 0,
            float f => f > 0,
            double d => d > 0,
            decimal m => m > 0,
            short s => s > 0,
            byte b => b > 0,
            uint u => u > 0,
            ulong ul => ul > 0,
            _ => false,
        };

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
}
