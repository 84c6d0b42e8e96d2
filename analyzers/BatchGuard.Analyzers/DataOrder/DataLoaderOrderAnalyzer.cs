using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers;

/// <summary>
/// DataLoader order hygiene. BG0009: a seeded <c>shuffle: true</c> loader that serves more than one epoch (TorchSharp
/// re-seeds it on every enumeration, so every epoch has the same order). BG0010: a positional argument in the slot
/// where the DataLoader overload pairs differ (<c>seed</c> vs <c>num_worker</c>).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DataLoaderOrderAnalyzer : TorchSharpAnalyzer
{
    /// <summary>Diagnostic property: the parameter a BG0010 argument was evidently meant for.</summary>
    internal const string IntendedParameterProperty = "IntendedParameter";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        Descriptors.BG0009_SeededShuffleNeverReshuffles,
        Descriptors.BG0010_PositionalArgumentBindsDifferently);

    private protected override void OnCompilationStart(CompilationStartAnalysisContext context, TorchSharpSymbols symbols)
    {
        context.RegisterOperationAction(c => Guarded(() =>
        {
            var invocation = (IInvocationOperation)c.Operation;
            // Cheap filter first: only a method named DataLoader or a constructor (base(...)) can be a factory.
            if (invocation.TargetMethod.Name != "DataLoader" && invocation.TargetMethod.MethodKind != MethodKind.Constructor) return;
            if (symbols.IsDataLoaderFactory(invocation.TargetMethod)) Analyze(c, invocation, invocation.TargetMethod, invocation.Arguments);
        }), OperationKind.Invocation);

        context.RegisterOperationAction(c => Guarded(() =>
        {
            var creation = (IObjectCreationOperation)c.Operation;
            if (creation.Constructor is { } constructor && symbols.IsDataLoader(constructor.ContainingType) &&
                symbols.IsDataLoaderFactory(constructor))
                Analyze(c, creation, constructor, creation.Arguments);
        }), OperationKind.ObjectCreation);
    }

    private static void Analyze(OperationAnalysisContext context, IOperation call, IMethodSymbol method, ImmutableArray<IArgumentOperation> arguments)
    {
        if (arguments.IsDefaultOrEmpty) return;
        foreach (var argument in arguments) ReportPositionalArgument(context, argument);
        ReportSeededShuffle(context, call, method, arguments);
    }

    // ---- BG0009 ----

    private static void ReportSeededShuffle(OperationAnalysisContext context, IOperation call, IMethodSymbol method, ImmutableArray<IArgumentOperation> arguments)
    {
        if (!DataLoaderOverloads.IsShuffleOverload(method)) return;
        var shuffle = Explicit(arguments, DataLoaderOverloads.Shuffle);
        var seed = Explicit(arguments, DataLoaderOverloads.Seed);
        if (shuffle is null || seed is null) return;
        if (shuffle.Value.ConstantValue is not { HasValue: true, Value: true }) return; // a shuffle: flag may be false

        var seedValue = seed.Value.WalkDownConversions();
        bool constantSeed = seedValue.ConstantValue.HasValue;
        if (constantSeed && seedValue.ConstantValue.Value is null) return; // seed: null is no seed
        // An int? that is not a constant may well be null at run time: too uncertain for a warning.
        if (!constantSeed && (seedValue.Type is null || seedValue.Type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T)) return;

        var verdict = LoaderEpochs.Judge(call, loopInvariantSeed: constantSeed && IsLoopInvariant(Explicit(arguments, DataLoaderOverloads.Dataset), call));
        if (!verdict.MoreThanOneEpoch) return;

        string loader = verdict.LoaderName is { } name
            ? $"'{name}'"
            : $"in '{(context.ContainingSymbol is IMethodSymbol { MethodKind: MethodKind.Constructor } ? context.ContainingSymbol.ContainingType.Name : context.ContainingSymbol.Name)}'";
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.BG0009_SeededShuffleNeverReshuffles,
            seed.Syntax.GetLocation(), loader, ValueText(seed)));
    }

    /// <summary>The dataset is a variable declared outside every loop around the call, so each iteration gets the same data.</summary>
    private static bool IsLoopInvariant(IArgumentOperation? dataset, IOperation call)
    {
        var value = dataset?.Value.WalkDownConversions();
        ISymbol? symbol = value switch
        {
            ILocalReferenceOperation local => local.Local,
            IParameterReferenceOperation parameter => parameter.Parameter,
            // folds[i].Data differs per iteration; this.data or a static field does not.
            IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } field => field.Field,
            IPropertyReferenceOperation { Instance: null or IInstanceReferenceOperation, Arguments.IsEmpty: true } property => property.Property,
            _ => null,
        };
        if (symbol is null) return false;
        if (symbol is not ILocalSymbol) return true;
        var declaration = symbol.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax();
        if (declaration is null) return false;
        for (var node = call.Syntax.Parent; node is not null; node = node.Parent)
        {
            // Declared in a loop (its body, or a for/foreach variable): each iteration may see other data.
            if (node is ForStatementSyntax or ForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax &&
                node.Span.Contains(declaration.Span))
                return false;
        }
        return true;
    }

    // ---- BG0010 ----

    private static void ReportPositionalArgument(OperationAnalysisContext context, IArgumentOperation argument)
    {
        if (argument.ArgumentKind != ArgumentKind.Explicit || argument.Parameter is not { } parameter) return;
        if (argument.Syntax is not ArgumentSyntax { NameColon: null } syntax) return; // named: nothing to misread
        string? sibling = DataLoaderOverloads.SiblingParameterAt(parameter);
        if (sibling is null) return;

        var value = argument.Value.WalkDownConversions();
        var names = DataLoaderOverloads.OriginNames(value).ToList();
        bool saysSeed = names.Any(DataLoaderOverloads.SaysSeed);
        bool saysWorkers = names.Any(DataLoaderOverloads.SaysWorkers);
        string? intended = null;

        if (parameter.Name == DataLoaderOverloads.Seed)
        {
            // null, an int?, or a value named like a seed is clearly a seed: fine.
            if (value.ConstantValue is { HasValue: true, Value: null } || value.Type is null) return;
            if (value.Type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T) return;
            if (saysSeed && !saysWorkers) return;
            if (saysWorkers) intended = DataLoaderOverloads.NumWorker;
        }
        else
        {
            // A worker count in the num_worker slot is what everyone means; only a seed landing there is a trap.
            if (!saysSeed || saysWorkers) return;
            intended = DataLoaderOverloads.Seed;
        }

        var properties = intended is null
            ? ImmutableDictionary<string, string?>.Empty
            : ImmutableDictionary<string, string?>.Empty.Add(IntendedParameterProperty, intended);
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.BG0010_PositionalArgumentBindsDifferently,
            syntax.GetLocation(), properties, syntax.Expression.ToString(), parameter.Name, sibling));
    }

    private static IArgumentOperation? Explicit(ImmutableArray<IArgumentOperation> arguments, string name)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.Name == name && argument.ArgumentKind == ArgumentKind.Explicit) return argument;
        }
        return null;
    }

    private static string ValueText(IArgumentOperation argument) =>
        argument.Syntax is ArgumentSyntax syntax ? syntax.Expression.ToString() : argument.Value.Syntax.ToString();
}
