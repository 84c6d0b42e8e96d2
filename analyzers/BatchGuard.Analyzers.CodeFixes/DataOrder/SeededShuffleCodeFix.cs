using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Simplification;

namespace BatchGuard.Analyzers.CodeFixes;

/// <summary>
/// BG0009. When the BatchGuard runtime is referenced (<see cref="UseEpochShuffler"/>): switch to the <c>shuffler</c>
/// overload with <c>new EpochShuffler(dataset.Count, seed: s)</c>, which stays reproducible and reshuffles every epoch.
/// Otherwise (<see cref="RemoveSeed"/>): drop <c>seed:</c>, so TorchSharp reshuffles every epoch (not reproducibly).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SeededShuffleCodeFix)), Shared]
public sealed class SeededShuffleCodeFix : CodeFixProvider
{
    /// <summary>Equivalence key of "use BatchGuard's EpochShuffler".</summary>
    public const string UseEpochShuffler = "BG0009.UseEpochShuffler";

    /// <summary>Equivalence key of "remove seed:".</summary>
    public const string RemoveSeed = "BG0009.RemoveSeed";

    /// <summary>Metadata name of the runtime's per-epoch shuffler (src/BatchGuard/Data/EpochShuffler.cs).</summary>
    public const string EpochShufflerMetadataName = "BatchGuard.Data.EpochShuffler";

    private static readonly SyntaxAnnotation AddImport = new(nameof(SeededShuffleCodeFix) + ".AddImport");

    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIds.SeededShuffleNeverReshuffles);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => FixAll.Instance;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var document = context.Document;
        foreach (var diagnostic in context.Diagnostics)
        {
            var plan = await PlanAsync(document, diagnostic, context.CancellationToken).ConfigureAwait(false);
            if (plan is null) continue;
            var (title, key) = plan.Value.Dataset is not null
                ? ("Use BatchGuard's EpochShuffler (reproducible, reshuffles every epoch)", UseEpochShuffler)
                : ("Remove 'seed:' (reshuffles every epoch, not reproducibly)", RemoveSeed);
            context.RegisterCodeFix(CodeAction.Create(title, ct => ApplyAsync(document, ImmutableArray.Create(diagnostic), ct), key), diagnostic);
        }
    }

    /// <summary>What to rewrite for one diagnostic; <see cref="Dataset"/> is null when only removing the seed is possible.</summary>
    private readonly struct Plan(BaseArgumentListSyntax list, ArgumentSyntax seed, ArgumentSyntax shuffle, ExpressionSyntax? dataset,
        INamedTypeSymbol? epochShuffler, ExpressionSyntax seedValue, ImmutableArray<(ArgumentSyntax Argument, string Parameter)> laterPositional)
    {
        public INamedTypeSymbol? EpochShuffler { get; } = epochShuffler;
        public BaseArgumentListSyntax List { get; } = list;
        public ArgumentSyntax Seed { get; } = seed;
        public ArgumentSyntax Shuffle { get; } = shuffle;
        public ExpressionSyntax? Dataset { get; } = dataset;
        public ExpressionSyntax SeedValue { get; } = seedValue;
        public ImmutableArray<(ArgumentSyntax Argument, string Parameter)> LaterPositional { get; } = laterPositional;
    }

    private static async Task<Plan?> PlanAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null) return null;
        if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)?.FirstAncestorOrSelf<ArgumentSyntax>() is not { } seed ||
            seed.Parent is not BaseArgumentListSyntax list || list.Parent is null)
            return null;

        var arguments = model.GetOperation(list.Parent, cancellationToken) switch
        {
            IInvocationOperation invocation => invocation.Arguments,
            IObjectCreationOperation creation => creation.Arguments,
            IExpressionStatementOperation { Operation: IInvocationOperation invocation } => invocation.Arguments,
            _ => default,
        };
        if (arguments.IsDefaultOrEmpty) return null;

        ArgumentSyntax? shuffle = null;
        IArgumentOperation? dataset = null, seedOperation = null;
        var laterPositional = ImmutableArray.CreateBuilder<(ArgumentSyntax, string)>();
        int seedIndex = list.Arguments.IndexOf(seed);
        foreach (var argument in arguments)
        {
            if (argument.ArgumentKind != ArgumentKind.Explicit || argument.Syntax is not ArgumentSyntax syntax || argument.Parameter is null) continue;
            switch (argument.Parameter.Name)
            {
                case DataLoaderOverloads.Shuffle: shuffle = syntax; break;
                case DataLoaderOverloads.Dataset: dataset = argument; break;
                case DataLoaderOverloads.Seed: seedOperation = argument; break;
            }
            if (syntax.NameColon is null && list.Arguments.IndexOf(syntax) > seedIndex) laterPositional.Add((syntax, argument.Parameter.Name));
        }
        if (shuffle is null || seedOperation?.Syntax != seed) return null;

        var epochShuffler = model.Compilation.GetTypeByMetadataName(EpochShufflerMetadataName);
        var datasetExpression = epochShuffler is null ? null : ReadableTwice(dataset);
        var seedValue = SeedForShuffler(seedOperation.Value) ?? seed.Expression;
        return new Plan(list, seed, shuffle, datasetExpression, datasetExpression is null ? null : epochShuffler, seedValue, laterPositional.ToImmutable());
    }

    /// <summary>
    /// The seed as the user wrote it, minus a cast to <c>int?</c> (<c>(int?)3</c> → <c>3</c>): EpochShuffler takes a
    /// <c>long</c>. Other explicit casts stay, since they may be what makes the value an integer.
    /// </summary>
    private static ExpressionSyntax? SeedForShuffler(IOperation value)
    {
        while (value is IConversionOperation conversion &&
               (conversion.IsImplicit || conversion.Type?.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T))
            value = conversion.Operand;
        while (value is IParenthesizedOperation parenthesized) value = parenthesized.Operand;
        return value.Syntax as ExpressionSyntax;
    }

    /// <summary>The dataset expression when writing it a second time (for its Count) reads the same object: a variable.</summary>
    private static ExpressionSyntax? ReadableTwice(IArgumentOperation? dataset) =>
        dataset?.Value.WalkDownConversions() switch
        {
            ILocalReferenceOperation or IParameterReferenceOperation => (dataset.Syntax as ArgumentSyntax)?.Expression,
            IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } => (dataset.Syntax as ArgumentSyntax)?.Expression,
            _ => null,
        };

    private static async Task<Document> ApplyAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var plans = new List<Plan>();
        foreach (var diagnostic in diagnostics)
        {
            if (await PlanAsync(document, diagnostic, cancellationToken).ConfigureAwait(false) is { } plan) plans.Add(plan);
        }
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || plans.Count == 0) return document;
        var generator = SyntaxGenerator.GetGenerator(document);
        var rewritten = root.ReplaceNodes(plans.Select(p => p.List), (original, _) => Rewrite(plans.First(p => p.List == original), generator));
        // `using BatchGuard.Data;` for the qualified type name; the code action's clean-up then simplifies the name.
        return await ImportAdder.AddImportsAsync(document.WithSyntaxRoot(rewritten), AddImport, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static BaseArgumentListSyntax Rewrite(Plan plan, SyntaxGenerator generator)
    {
        var arguments = plan.List.Arguments;
        if (plan.Dataset is not null && plan.EpochShuffler is not null)
        {
            // shuffle: true, ..., seed: s  →  shuffler: new EpochShuffler(dataset.Count, seed: s), ...
            // The shuffler overload is the shuffle overload without seed, so later positional arguments keep their meaning.
            var shuffler = SyntaxFactory.ObjectCreationExpression(
                    // Fully qualified, simplified by the code action's clean-up, which also adds `using BatchGuard.Data;`.
                    ((TypeSyntax)generator.TypeExpression(plan.EpochShuffler, addImport: true)).WithAdditionalAnnotations(AddImport, Simplifier.Annotation))
                .WithArgumentList(SyntaxFactory.ArgumentList(SyntaxFactory.SeparatedList(new[]
                {
                    SyntaxFactory.Argument(SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression,
                        plan.Dataset.WithoutTrivia(), SyntaxFactory.IdentifierName("Count"))),
                    SyntaxFactory.Argument(plan.SeedValue.WithoutTrivia())
                        .WithNameColon(SyntaxFactory.NameColon(SyntaxFactory.IdentifierName("seed")).WithTrailingTrivia(SyntaxFactory.Space)),
                })))
                .WithNewKeyword(SyntaxFactory.Token(SyntaxKind.NewKeyword).WithTrailingTrivia(SyntaxFactory.Space))
                .WithTriviaFrom(plan.Shuffle.Expression);
            var newShuffle = plan.Shuffle.WithExpression(shuffler);
            if (plan.Shuffle.NameColon is { } name)
                newShuffle = newShuffle.WithNameColon(name.WithName(SyntaxFactory.IdentifierName(DataLoaderOverloads.Shuffler).WithTriviaFrom(name.Name)));
            arguments = arguments.Replace(plan.Shuffle, newShuffle);
        }
        else
        {
            // Positional arguments after the seed would slide into its slot: name them with the parameter they bind to now.
            foreach (var (argument, parameter) in plan.LaterPositional)
            {
                var current = arguments[plan.List.Arguments.IndexOf(argument)];
                arguments = arguments.Replace(current, current
                    .WithNameColon(SyntaxFactory.NameColon(SyntaxFactory.IdentifierName(parameter))
                        .WithLeadingTrivia(current.GetLeadingTrivia()).WithTrailingTrivia(SyntaxFactory.Space))
                    .WithExpression(current.Expression.WithoutLeadingTrivia()));
            }
        }
        arguments = arguments.RemoveAt(plan.List.Arguments.IndexOf(plan.Seed));
        return plan.List.WithArguments(arguments);
    }

    /// <summary>Fix All: all diagnostics of a document in one rewrite, so the added using directive appears once.</summary>
    private sealed class FixAll : DocumentBasedFixAllProvider
    {
        public static readonly FixAll Instance = new();

        protected override string GetFixAllTitle(FixAllContext fixAllContext) => fixAllContext.CodeActionEquivalenceKey == RemoveSeed
            ? "Remove 'seed:' from every seeded shuffle"
            : "Use BatchGuard's EpochShuffler for every seeded shuffle";

        protected override async Task<Document?> FixAllAsync(FixAllContext fixAllContext, Document document, ImmutableArray<Diagnostic> diagnostics)
        {
            // Only the diagnostics whose own fix matches the chosen action.
            var chosen = ImmutableArray.CreateBuilder<Diagnostic>();
            foreach (var diagnostic in diagnostics)
            {
                var plan = await PlanAsync(document, diagnostic, fixAllContext.CancellationToken).ConfigureAwait(false);
                if (plan is null) continue;
                string key = plan.Value.Dataset is not null ? UseEpochShuffler : RemoveSeed;
                if (key == fixAllContext.CodeActionEquivalenceKey) chosen.Add(diagnostic);
            }
            return await ApplyAsync(document, chosen.ToImmutable(), fixAllContext.CancellationToken).ConfigureAwait(false);
        }
    }
}
