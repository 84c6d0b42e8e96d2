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

namespace BatchGuard.Analyzers.CodeFixes;

/// <summary>
/// BG0010: names the positional argument. Equivalence keys: <see cref="NameAsNumWorker"/> (<c>num_worker: x</c>, the
/// fix when the argument is evidently a worker count; changes behaviour) and <see cref="NameAsSeed"/> (<c>seed: x</c>,
/// offered when the intent is unclear; keeps behaviour).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(PositionalArgumentCodeFix)), Shared]
public sealed class PositionalArgumentCodeFix : CodeFixProvider
{
    /// <summary>Equivalence key of "pass it as num_worker:".</summary>
    public const string NameAsNumWorker = "BG0010.NameAsNumWorker";

    /// <summary>Equivalence key of "name it seed:".</summary>
    public const string NameAsSeed = "BG0010.NameAsSeed";

    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIds.PositionalArgumentBindsDifferently);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)?.FirstAncestorOrSelf<ArgumentSyntax>() is not { NameColon: null } argument ||
                argument.Parent is not BaseArgumentListSyntax list)
                continue;

            diagnostic.Properties.TryGetValue(DataLoaderOrderAnalyzer.IntendedParameterProperty, out var intended);
            // A seed in the shuffler overload's num_worker slot: that overload has no seed parameter to name.
            if (intended == DataLoaderOverloads.Seed) continue;

            if (CanNameAsNumWorker(argument, list))
                Register(context, diagnostic, argument, DataLoaderOverloads.NumWorker, NameAsNumWorker);
            if (intended is null)
                Register(context, diagnostic, argument, DataLoaderOverloads.Seed, NameAsSeed);
        }
    }

    /// <summary>
    /// <c>num_worker:</c> is out of position at the seed slot, so every later argument must already be named, and
    /// num_worker must not be passed as well.
    /// </summary>
    private static bool CanNameAsNumWorker(ArgumentSyntax argument, BaseArgumentListSyntax list)
    {
        int index = list.Arguments.IndexOf(argument);
        return list.Arguments.Skip(index + 1).All(a => a.NameColon is not null) &&
               list.Arguments.All(a => a.NameColon?.Name.Identifier.ValueText != DataLoaderOverloads.NumWorker);
    }

    private static void Register(CodeFixContext context, Diagnostic diagnostic, ArgumentSyntax argument, string parameter, string key) =>
        context.RegisterCodeFix(CodeAction.Create(
            $"Name the argument '{parameter}:'",
            ct => NameAsync(context.Document, argument, parameter, ct),
            key), diagnostic);

    private static async Task<Document> NameAsync(Document document, ArgumentSyntax argument, string parameter, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null) return document;
        var expression = argument.Expression;
        var named = argument
            .WithNameColon(SyntaxFactory.NameColon(SyntaxFactory.IdentifierName(parameter))
                .WithLeadingTrivia(expression.GetLeadingTrivia())
                .WithTrailingTrivia(SyntaxFactory.Space))
            .WithExpression(expression.WithoutLeadingTrivia());
        return document.WithSyntaxRoot(root.ReplaceNode(argument, named));
    }
}
