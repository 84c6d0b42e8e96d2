using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.Optimization;

/// <summary>
/// Whether an optimizer carries state across steps (momentum buffers, running averages), so that one oversized
/// gradient keeps moving the weights after the step that produced it. Unknown is never treated as stateful.
/// </summary>
internal readonly struct OptimizerState
{
    private OptimizerState(bool isStateful, string description)
    {
        IsStateful = isStateful;
        Description = description;
    }

    public bool IsStateful { get; }
    /// <summary>What the user wrote, for the message: "Adam", "SGD with momentum 0.9", "SGD with nesterov".</summary>
    public string Description { get; }

    public static OptimizerState Stateful(string description) => new(true, description);
    public static readonly OptimizerState NotStateful = new(false, "");

    /// <summary>
    /// TorchSharp optimizers whose update always depends on the size of earlier gradients: momentum buffers and running
    /// averages of squared gradients (Adagrad's sum never forgets one). Rprop uses only their signs; SGD is classified
    /// by its arguments.
    /// </summary>
    private static bool IsAlwaysStateful(string name) =>
        name is "Adam" or "AdamW" or "Adamax" or "NAdam" or "RAdam" or "RMSProp" or "Adagrad" or "Adadelta";

    /// <summary>
    /// Classifies what an optimizer was created from: <c>optim.Adam(...)</c>, <c>optim.SGD(..., momentum: 0.9)</c>,
    /// <c>new SGD(...)</c>, or any expression of a known type. SGD is stateful only when its momentum is a visible
    /// non-zero constant or nesterov a visible <c>true</c>.
    /// </summary>
    public static OptimizerState Classify(IOperation value, ImmutableArray<string> extraStatefulTypes)
    {
        value = value.WalkDownConversions();
        var arguments = value switch
        {
            IInvocationOperation invocation => invocation.Arguments,
            IObjectCreationOperation creation => creation.Arguments,
            _ => default,
        };
        var byType = ClassifyType(value.Type, extraStatefulTypes);
        if (byType.IsStateful || arguments.IsDefault || !IsTorchSharpSgd(value.Type)) return byType;
        return ClassifySgd(arguments);
    }

    /// <summary>
    /// Classification from the static type alone (SGD needs its arguments, so it is never stateful here). A type of
    /// the user's that overrides <c>step()</c> below TorchSharp's optimizer is not classified: its step may clip, or do
    /// anything else (unless the type is listed in <c>extra_optimizer_types</c>).
    /// </summary>
    public static OptimizerState ClassifyType(ITypeSymbol? type, ImmutableArray<string> extraStatefulTypes)
    {
        for (var current = type as INamedTypeSymbol; current is not null; current = current.BaseType)
        {
            if (IsTorchSharpModule(current) && IsAlwaysStateful(current.Name)) return Stateful(current.Name);
            if (!extraStatefulTypes.IsDefaultOrEmpty && MatchesAny(current, extraStatefulTypes)) return Stateful(current.Name);
            if (OverridesStep(current)) return NotStateful;
        }
        return NotStateful;
    }

    /// <summary>Whether a type below TorchSharp's optimizers (a user's subclass) overrides <c>step()</c>.</summary>
    public static bool DefinesItsOwnStep(ITypeSymbol? type)
    {
        for (var current = type as INamedTypeSymbol; current is not null && !IsTorchSharpModule(current); current = current.BaseType)
        {
            if (OverridesStep(current)) return true;
        }
        return false;
    }

    private static bool OverridesStep(INamedTypeSymbol type) =>
        !IsTorchSharpModule(type) && type.GetMembers("step").Any(m => m is IMethodSymbol { IsOverride: true });

    private static OptimizerState ClassifySgd(ImmutableArray<IArgumentOperation> arguments)
    {
        // Parameter groups can each set their own momentum, which we cannot see here: unknown.
        var first = arguments.FirstOrDefault(a => a.Parameter?.Ordinal == 0);
        if (IsSequenceOf(first?.Parameter?.Type, "ParamGroup")) return NotStateful;

        var nesterov = arguments.FirstOrDefault(a => a.Parameter?.Name == "nesterov");
        if (nesterov is not null && nesterov.Value.ConstantValue is { HasValue: true, Value: true }) return Stateful("SGD with nesterov");

        var momentum = arguments.FirstOrDefault(a => a.Parameter?.Name == "momentum");
        if (momentum is not null && momentum.Value.ConstantValue is { HasValue: true, Value: { } m } && IsNonZero(m))
        {
            return Stateful("SGD with momentum " + System.Convert.ToString(m, CultureInfo.InvariantCulture));
        }
        return NotStateful;
    }

    /// <summary><c>IEnumerable&lt;X&gt;</c> where X is named <paramref name="elementName"/>.</summary>
    public static bool IsSequenceOf(ITypeSymbol? type, string elementName) =>
        type is INamedTypeSymbol { TypeArguments.Length: 1 } named && named.TypeArguments[0].Name == elementName;

    private static bool IsNonZero(object value) => value switch
    {
        double d => d != 0,
        float f => f != 0,
        int i => i != 0,
        long l => l != 0,
        decimal dec => dec != 0,
        _ => false,
    };

    private static bool IsTorchSharpSgd(ITypeSymbol? type) =>
        type is INamedTypeSymbol { Name: "SGD" } named && IsTorchSharpModule(named);

    private static bool IsTorchSharpModule(INamedTypeSymbol type) =>
        type.ContainingNamespace is { Name: "Modules", ContainingNamespace: { Name: "TorchSharp", ContainingNamespace.IsGlobalNamespace: true } };

    private static bool MatchesAny(INamedTypeSymbol type, IEnumerable<string> names)
    {
        var fullName = type.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat);
        return names.Any(n => n == type.Name || n == fullName);
    }
}
