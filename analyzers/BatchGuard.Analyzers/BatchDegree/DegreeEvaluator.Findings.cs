using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>Findings: what is recorded for BG0003-BG0005 and what their code fixes need.</summary>
internal sealed partial class DegreeEvaluator
{
    // ---- findings ----

    private void ReportSumOverNominalBatchSize(IOperation numerator, IOperation divisor, IOperation site, Frame frame)
    {
        var actual = ActualBatchSizeExpression(numerator, frame);
        var properties = ImmutableDictionary<string, string?>.Empty.Add(LossFinding.Keys.ActualBatchSize, actual);
        Record(RuleIds.SumDividedByNominalBatchSize, site, divisor,
            new object[] { Text(numerator), Text(divisor), actual ?? "the first dimension of the summed tensor" }, properties);
    }

    private void ReportNormalizedTwice(IOperation loss, IOperation normalizer, IOperation site, string how, bool keepLeft) =>
        Record(RuleIds.LossNormalizedTwice, site, normalizer,
            new object[] { Text(loss), how, Text(normalizer), "1/batch size" },
            ImmutableDictionary<string, string?>.Empty.Add(LossFinding.Keys.KeepOperand, keepLeft ? "left" : "right"));

    private void ReportCountThatCanBeZero(IOperation divisor, BatchValue count, IOperation site, Frame frame)
    {
        if (MayBeGuarded(divisor) || GuardedByTheCaller(divisor, frame)) return;
        var kind = count.IsHost ? "host" : "tensor";
        var guard = count.IsHost ? $"Math.Max({Text(divisor)}, 1)" : ".clamp_min(1)";
        Record(RuleIds.DivisionByCountThatCanBeZero, site, divisor, new object[] { Text(divisor), guard },
            ImmutableDictionary<string, string?>.Empty.Add(LossFinding.Keys.CountKind, kind));
    }

    private void Record(string rule, IOperation site, IOperation divisor, object[] args, ImmutableDictionary<string, string?> properties)
    {
        var key = new FindingKey(rule, site.Syntax);
        if (!_findings.TryGetValue(key, out var finding))
        {
            _findings[key] = finding = new LossFinding(rule, site, divisor, args, properties);
            _created.Add(key);
        }
        _touched.Add(finding);
    }

    private static string Text(IOperation operation) => LoaderCreation.Shorten(operation.Syntax.ToString());

    /// <summary>
    /// Whether the method that divides by a count may keep it off zero in a way the value itself does not show: a
    /// condition anywhere in the method (if, ?:, while, switch) that reads the count, what it was computed from, or a
    /// local computed from those (<c>if (!positives.any().item&lt;bool&gt;()) continue;</c>, <c>if (nPos == 0) return;</c>,
    /// a helper's <c>if (den.item&lt;long&gt;() == 0) return ...;</c>, a test before calling the local function that
    /// divides by its parameter), an in-place clamp or add on one of them (<c>numPos.clamp_min_(1)</c>), or a call that
    /// checks one of them (<see cref="ChecksAWatchedValue"/>: <c>Debug.Assert(n &gt; 0)</c>, <c>ThrowIfZero(n)</c>). Broad on purpose: BG0005 is a warning, and a guard it cannot read must not be
    /// reported as missing.
    /// </summary>
    private static bool MayBeGuarded(IOperation divisor) => MayBeGuarded(Watched(divisor), divisor);

    /// <summary>
    /// For a count that a helper computes from its parameters (<c>static Tensor MaskedMean(Tensor v, Tensor positives) =&gt;
    /// (v * positives).sum() / positives.sum();</c>), whether the call being interpreted guards what it passes for them,
    /// as <see cref="MayBeGuarded(IOperation)"/> judges its own method (<c>if (!positives.any().item&lt;bool&gt;()) continue;</c>
    /// before the call), up the chain of interpreted calls. Each call path from a <c>backward()</c> is judged on its
    /// own: the division is reported when one of them reaches it unguarded.
    /// </summary>
    private static bool GuardedByTheCaller(IOperation divisor, Frame frame)
    {
        // The callee's parameters the count comes from (directly, or through a local of the callee initialised from them).
        var sources = Watched(divisor);
        for (var callee = frame; callee.Caller is { } caller && !callee.CallArguments.IsDefaultOrEmpty; callee = caller)
        {
            var passed = new List<IOperation>();
            foreach (var argument in callee.CallArguments)
            {
                if (argument.ArgumentKind == ArgumentKind.DefaultValue || argument.Parameter is not { } parameter) continue;
                var bound = (callee.Callee ?? parameter.ContainingSymbol).OriginalDefinition;
                if (sources.Any(s => s is IParameterSymbol p && p.Ordinal == parameter.Ordinal && SymbolEqualityComparer.Default.Equals(p.ContainingSymbol.OriginalDefinition, bound)))
                    passed.Add(argument.Value);
            }
            if (passed.Count == 0) return false;
            // The caller guards what it passes itself (`positives`), or a local computed from it, not whatever that was
            // computed from: a test of another mask of the same batch is no guard of this one.
            var watched = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
            sources = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
            foreach (var value in passed)
            {
                watched.UnionWith(ReadSymbols(value));
                sources.UnionWith(Watched(value));
            }
            // The value the call returns (`var loss = MaskedMean(conf, positives)`) is no guard of what it divides by.
            if (MayBeGuarded(watched, passed[0], passed[0].Parent?.Parent)) return true;
        }
        return false;
    }

    /// <summary>What a count reads, and what the locals it reads were initialised from (<c>var numPos = positives.sum();</c> adds positives).</summary>
    private static HashSet<ISymbol> Watched(IOperation count)
    {
        var watched = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        foreach (var symbol in ReadSymbols(count)) watched.Add(symbol);
        foreach (var symbol in watched.ToList())
        {
            if (symbol is not ILocalSymbol local) continue;
            foreach (var reference in local.DeclaringSyntaxReferences)
            {
                if (count.SemanticModel?.GetOperation(reference.GetSyntax()) is IVariableDeclaratorOperation { Initializer.Value: { } initial })
                    watched.UnionWith(ReadSymbols(initial));
            }
        }
        return watched;
    }

    /// <summary>Whether the method around <paramref name="at"/> may keep the <paramref name="watched"/> values off zero (see above).</summary>
    private static bool MayBeGuarded(HashSet<ISymbol> watched, IOperation at, IOperation? followedCall = null)
    {
        var root = CompilationIndex.Root(at);
        var operations = root.PreOrder();
        // A local function that divides by its parameter: what its calls in the method pass for it
        // (`if (!positives.any().item<bool>()) continue; ... MaskedMean(pred, positives)`).
        foreach (var symbol in watched.ToList())
        {
            if (symbol is not IParameterSymbol { ContainingSymbol: IMethodSymbol { MethodKind: MethodKind.LocalFunction } function } parameter) continue;
            foreach (var operation in operations)
            {
                if (operation is not IInvocationOperation call || !SymbolEqualityComparer.Default.Equals(call.TargetMethod.OriginalDefinition, function.OriginalDefinition)) continue;
                foreach (var argument in call.Arguments)
                {
                    if (argument.Parameter?.Ordinal == parameter.Ordinal) watched.UnionWith(ReadSymbols(argument.Value));
                }
            }
        }
        // Locals computed from those: `long nPos = numPos.item<long>();`, `bool any = positives.any().item<bool>();` (not
        // one that divides by them, like the loss itself: a test of the loss for logging is no guard of the count).
        foreach (var operation in operations)
        {
            if (operation is IVariableDeclaratorOperation { Initializer.Value: { } value } declarator && ReadSymbols(value).Any(watched.Contains) &&
                (followedCall is null || value.Syntax.SyntaxTree != followedCall.Syntax.SyntaxTree || !value.Syntax.Span.Contains(followedCall.Syntax.Span)) &&
                // In a caller, only a count or test of what it passes (`positives.sum()`, `positives.any()`), not another mask
                // made from it (`positives.logical_not()`, whose emptiness says nothing of positives').
                (followedCall is null || value.DescendantsAndSelf().Any(o => o is IInvocationOperation { TargetMethod.Name: "sum" or "any" or "all" or "count_nonzero" or "numel" or "item" or "nonzero" or "Count" or "Any" })) &&
                !value.DescendantsAndSelf().Any(o => o is IBinaryOperation { OperatorKind: BinaryOperatorKind.Divide } or IInvocationOperation { TargetMethod.Name: "div" or "div_" or "divide" }))
                watched.Add(declarator.Symbol);
        }
        foreach (var operation in operations)
        {
            var tested = operation switch
            {
                IConditionalOperation conditional => conditional.Condition,
                IWhileLoopOperation loop => loop.Condition,
                ISwitchOperation @switch => @switch.Value,
                ISwitchExpressionOperation @switch => @switch.Value,
                IInvocationOperation { TargetMethod.Name: "clamp_" or "clamp_min_" or "clip_" or "add_", Instance: { } instance } => instance,
                _ => null,
            };
            if (tested is not null && ReadSymbols(tested).Any(watched.Contains)) return true;
            if (operation is IExpressionStatementOperation { Operation: IInvocationOperation call } && ChecksAWatchedValue(call, watched)) return true;
        }
        return false;
    }

    /// <summary>
    /// Whether a call whose result is discarded is made to check the count: a guard or assertion given it or a condition
    /// on it, by its name (<c>ArgumentOutOfRangeException.ThrowIfZero(n)</c>, <c>ThrowIfNegativeOrZero</c>, <c>Debug.Assert(n &gt; 0)</c>,
    /// <c>Contract.Requires</c>, a user's <c>RequirePositive(n)</c>, <c>EnsureNonZero(n)</c>, <c>CheckCount(n)</c>) or its type's
    /// (<c>Guard.Against.Zero(n)</c>, a test framework's <c>Assert.True(n &gt; 0)</c>). The author states the count is not zero
    /// (an assertion compiled out of Release builds included): reporting it as unguarded would be noise. Logging the count
    /// (<c>Console.WriteLine</c>, <c>Debug.WriteLineIf(n == 0, ...)</c>) is no guard.
    /// </summary>
    private static bool ChecksAWatchedValue(IInvocationOperation call, HashSet<ISymbol> watched)
    {
        if (!IsAGuard(call.TargetMethod)) return false;
        foreach (var argument in call.Arguments)
        {
            if (ReadSymbols(argument.Value).Any(watched.Contains)) return true;
        }
        return false;
    }

    private static readonly string[] GuardPrefixes = { "ThrowIf", "Throw", "Requires", "Require", "Ensure", "Assert", "Check", "Guard", "Validate", "Verify", "Expect" };

    private static bool IsAGuard(IMethodSymbol method)
    {
        var name = method.Name;
        foreach (var prefix in GuardPrefixes)
        {
            // A word of its own: CheckCount, check_count, Assert; not Checkpoint.
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) &&
                (name.Length == prefix.Length || char.IsUpper(name[prefix.Length]) || name[prefix.Length] == '_')) return true;
        }
        var type = method.ContainingType?.Name ?? "";
        return type.IndexOf("Guard", StringComparison.Ordinal) >= 0 || type is "Assert" or "ClassicAssert" or "Contract";
    }

    /// <summary>The locals, parameters and fields an operation reads.</summary>
    private static IEnumerable<ISymbol> ReadSymbols(IOperation operation)
    {
        foreach (var descendant in operation.DescendantsAndSelf())
        {
            switch (descendant)
            {
                case ILocalReferenceOperation local:
                    yield return local.Local;
                    break;
                case IParameterReferenceOperation parameter:
                    yield return parameter.Parameter;
                    break;
                case IFieldReferenceOperation field:
                    yield return field.Field.OriginalDefinition;
                    break;
            }
        }
    }

    /// <summary>The first <c>t.shape[0]</c>, <c>t.size()[0]</c> or <c>t.size(0)</c> of a tensor inside the operation, or null.</summary>
    private IOperation? ActualSizeIn(IOperation operation)
    {
        foreach (var descendant in Factors(operation))
        {
            var (tensor, index) = descendant switch
            {
                IArrayElementReferenceOperation { Indices.Length: 1 } element => (element.ArrayReference.WalkDownConversions() switch
                {
                    IPropertyReferenceOperation { Property.Name: "shape" } shape => shape.Instance,
                    IInvocationOperation { TargetMethod.Name: "size", Arguments.Length: 0 } size => size.Instance,
                    _ => null,
                }, element.Indices[0]),
                IInvocationOperation { TargetMethod.Name: "size", Arguments.Length: 1 } size => (size.Instance, size.Arguments[0].Value),
                _ => (null, null),
            };
            if (tensor is not null && _symbols.IsTensor(tensor.Type) && LoaderCreation.AsLong(index!.WalkDownConversions().ConstantValue) == 0) return descendant;
        }
        return null;
    }

    /// <summary>
    /// <c>pred.shape[0]</c> for a numerator like <c>(pred - y).abs().sum()</c>: the leftmost simple reference (a
    /// local, parameter, field, or an indexer on one) inside the summed expression that holds a tensor with a batch
    /// axis, so the fix stays in scope; through a module's or function's tensor argument (<c>net.forward(x)</c> → x)
    /// and a reduced local's initializer (<c>var err = (pred - y).sum(); err / batchSize</c> → pred). Null when there is
    /// none: the message then describes the size in words and the fix offers only <c>mean()</c> where it applies.
    /// </summary>
    private string? ActualBatchSizeExpression(IOperation numerator, Frame frame)
    {
        // A mean scaled back up by the batch's size (`mean * x.shape[0]`): that size is the one to divide by; the
        // leftmost reference is the reduced loss, whose shape[0] does not exist.
        if (ActualSizeIn(numerator) is { } written) return written.Syntax.ToString();
        var current = numerator.WalkDownConversions();
        for (var i = 0; i < 16; i++)
        {
            switch (current)
            {
                case IInvocationOperation { Instance: { } instance } when _symbols.IsTensor(instance.Type):
                    current = instance.WalkDownConversions();
                    continue;
                case IInvocationOperation call when FirstTensorArgument(call) is { } argument:
                    current = argument;
                    continue;
                case IBinaryOperation binary:
                    current = binary.LeftOperand.WalkDownConversions();
                    continue;
                case ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation:
                case IPropertyReferenceOperation { Instance: null or ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation or IInstanceReferenceOperation } property
                    when property.Arguments.All(a => a.Value.ConstantValue.HasValue):
                    if (!_symbols.IsTensor(current.Type)) return null;
                    if (Eval(current, frame, loss: false).Kind != ValueKind.Reduced) return current.Syntax.ToString() + ".shape[0]";
                    // Already reduced (a 0-d tensor has no shape[0]): look at what it was computed from.
                    if (current is not ILocalReferenceOperation local || Initializer(local) is not { } initial) return null;
                    current = initial.WalkDownConversions();
                    continue;
                default:
                    return null;
            }
        }
        return null;
    }

    /// <summary>The operands of a product (`a * b * c`, `a.mul(b)`), not any descendant: a size read elsewhere (one_hot's class count) is no scale.</summary>
    private static IEnumerable<IOperation> Factors(IOperation operation)
    {
        var stack = new Stack<IOperation>();
        stack.Push(operation.WalkDownConversions());
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            yield return current;
            switch (current)
            {
                case IBinaryOperation { OperatorKind: BinaryOperatorKind.Multiply } product:
                    stack.Push(product.RightOperand.WalkDownConversions());
                    stack.Push(product.LeftOperand.WalkDownConversions());
                    break;
                case IInvocationOperation { TargetMethod.Name: "mul" or "multiply", Instance: { } instance } mul when mul.Arguments.Length > 0:
                    stack.Push(mul.Arguments[0].Value.WalkDownConversions());
                    stack.Push(instance.WalkDownConversions());
                    break;
            }
        }
    }

    private IOperation? FirstTensorArgument(IInvocationOperation call)
    {
        foreach (var argument in call.Arguments)
        {
            var value = argument.Value.WalkDownConversions();
            if (_symbols.IsTensor(value.Type)) return value;
        }
        return null;
    }

    /// <summary>The value a local is declared with (<c>var err = ...;</c>; later writes are not looked at: any of them holds the same batch's values).</summary>
    private static IOperation? Initializer(ILocalReferenceOperation read)
    {
        var references = read.Local.DeclaringSyntaxReferences;
        if (references.Length != 1) return null;
        return read.SemanticModel?.GetOperation(references[0].GetSyntax()) is IVariableDeclaratorOperation { Initializer.Value: { } value } ? value : null;
    }
}
