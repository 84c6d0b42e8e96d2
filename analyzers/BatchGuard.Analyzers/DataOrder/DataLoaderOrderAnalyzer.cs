using System;
using System.Collections.Generic;
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
        var marks = SourceMarks.For(context.Compilation);
        // One callback per member, not one per call; the factory calls are found from the words that name them
        // (docs/performance.md, "Analyzer cost").
        context.RegisterOperationBlockAction(block => Guarded(() =>
        {
            foreach (var operation in block.OperationBlocks)
            {
                foreach (var call in FactoryCallCandidates(block.OwningSymbol, operation, marks, symbols))
                {
                    switch (call)
                    {
                        // Cheap filter first: only a method named DataLoader or a constructor (base(...)) can be a factory.
                        case IInvocationOperation invocation when (invocation.TargetMethod.Name == "DataLoader" ||
                                                                   invocation.TargetMethod.MethodKind == MethodKind.Constructor) &&
                                                                  symbols.IsDataLoaderFactory(invocation.TargetMethod):
                            Analyze(block.ReportDiagnostic, block.OwningSymbol, invocation, invocation.TargetMethod, invocation.Arguments);
                            break;
                        case IObjectCreationOperation { Constructor: { } constructor } creation when symbols.IsDataLoader(constructor.ContainingType) &&
                                                                                                     symbols.IsDataLoaderFactory(constructor):
                            Analyze(block.ReportDiagnostic, block.OwningSymbol, creation, constructor, creation.Arguments);
                            break;
                    }
                }
            }
        }));
    }

    /// <summary>
    /// The operations of a block that can be calls to one of TorchSharp's loader factories. A factory call names
    /// <c>DataLoader</c> (the factory method, or a loader type: DataLoader, IterableDataLoader) or is a target-typed
    /// <c>new(...)</c>, so those words locate them (<see cref="SourceMarks.LoaderCreationCandidates"/>); a block in a file
    /// that renames a loader type with a using alias, or a loader subclass's constructor (its <c>base(...)</c>), is
    /// walked in full.
    /// </summary>
    private static IEnumerable<IOperation> FactoryCallCandidates(ISymbol owner, IOperation block, SourceMarks marks, TorchSharpSymbols symbols)
    {
        var tree = block.Syntax.SyntaxTree;
        if (marks.DataLoaderAliased(tree) || block.SemanticModel is null ||
            owner is IMethodSymbol { MethodKind: MethodKind.Constructor } constructor && symbols.IsDataLoader(constructor.ContainingType))
            return block.PreOrder();
        var span = block.Syntax.Span;
        if (!marks.Mentions(tree, SourceMarks.DataLoader, span) && !marks.MentionsTargetTypedNew(tree, span)) return Array.Empty<IOperation>();
        var found = new List<IOperation>();
        foreach (var candidate in marks.LoaderCreationCandidates(block.Syntax))
        {
            if (block.SemanticModel.GetOperation(candidate) is { } operation) found.Add(operation);
        }
        return found;
    }

    private static void Analyze(Action<Diagnostic> report, ISymbol owner, IOperation call, IMethodSymbol method, ImmutableArray<IArgumentOperation> arguments)
    {
        if (arguments.IsDefaultOrEmpty) return;
        foreach (var argument in arguments) ReportPositionalArgument(report, argument);
        ReportSeededShuffle(report, owner, call, method, arguments);
    }

    // ---- BG0009 ----

    private static void ReportSeededShuffle(Action<Diagnostic> report, ISymbol owner, IOperation call, IMethodSymbol method, ImmutableArray<IArgumentOperation> arguments)
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
            : $"in '{(owner is IMethodSymbol { MethodKind: MethodKind.Constructor } ? owner.ContainingType.Name : owner.Name)}'";
        report(Diagnostic.Create(Descriptors.BG0009_SeededShuffleNeverReshuffles,
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
        if (symbol is not ILocalSymbol datasetLocal) return true;
        var declaration = symbol.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax();
        if (declaration is null) return false;
        for (var node = call.Syntax.Parent; node is not null; node = node.Parent)
        {
            // Declared in a loop (its body, or a for/foreach variable, deconstructed or not): each iteration may see other data.
            if (node is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax &&
                node.Span.Contains(declaration.Span))
                return false;
        }
        // Declared before the loop but assigned in it (`trainSet = Fold(k);`): each iteration may see other data too.
        for (var current = call.Parent; current is not null; current = current.Parent)
        {
            if (current is ILoopOperation loop && loop.Descendants().Any(o =>
                    o is ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } && SymbolEqualityComparer.Default.Equals(target.Local, datasetLocal) ||
                    o is IDeconstructionAssignmentOperation deconstruction && deconstruction.Target.Descendants()
                        .Any(t => t is ILocalReferenceOperation part && SymbolEqualityComparer.Default.Equals(part.Local, datasetLocal))))
                return false;
        }
        return true;
    }

    // ---- BG0010 ----

    private static void ReportPositionalArgument(Action<Diagnostic> report, IArgumentOperation argument)
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
            // null, an int? (also by an explicit cast, `(int?)42`), or a value named like a seed is clearly a seed: fine,
            // even when its name also mentions workers or threads (a worker seed is a seed).
            if (value.ConstantValue is { HasValue: true, Value: null } || value.Type is null) return;
            if (value.Type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T) return;
            if (argument.Value is IConversionOperation { IsImplicit: false, Type.OriginalDefinition.SpecialType: SpecialType.System_Nullable_T }) return;
            if (saysSeed) return;
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
        report(Diagnostic.Create(Descriptors.BG0010_PositionalArgumentBindsDifferently,
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
