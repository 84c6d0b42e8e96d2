using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BatchGuard.Analyzers.Batching;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace BatchGuard.Analyzers.CodeFixes.Batching;

/// <summary>
/// BG0001, BG0002: make the DataLoader drop its short final batch — append <c>drop_last: true</c> as a named argument,
/// or turn an explicit <c>false</c> into <c>true</c>. Other arguments, comments and line layout are kept.
/// Equivalence key: <see cref="EquivalenceKey"/>.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DropLastCodeFix)), Shared]
public sealed class DropLastCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = "BatchGuard.DropLastTrue";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
        RuleIds.PartialBatchFeedsBatchDependentLoss, RuleIds.TrainingLoaderKeepsPartialBatch);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (Rewrite(root, diagnostic) is null) continue;
            context.RegisterCodeFix(CodeAction.Create("Drop the short final batch (drop_last: true)",
                ct => Apply(context.Document, diagnostic, ct), EquivalenceKey), diagnostic);
        }
    }

    private static async Task<Document> Apply(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        return root is not null && Rewrite(root, diagnostic) is { } newRoot ? document.WithSyntaxRoot(newRoot) : document;
    }

    private static SyntaxNode? Rewrite(SyntaxNode root, Diagnostic diagnostic)
    {
        if (diagnostic.Properties.ContainsKey(PartialBatchRules.ExplicitDropLastFalse) && diagnostic.AdditionalLocations.Count > 0)
        {
            var value = root.FindNode(diagnostic.AdditionalLocations[0].SourceSpan, getInnermostNodeForTie: true);
            if (value is ArgumentSyntax argument) value = argument.Expression;
            return value is ExpressionSyntax falseValue
                ? root.ReplaceNode(falseValue, SyntaxFactory.LiteralExpression(SyntaxKind.TrueLiteralExpression).WithTriviaFrom(falseValue))
                : null;
        }

        var creation = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
        var arguments = creation switch
        {
            InvocationExpressionSyntax invocation => invocation.ArgumentList,
            BaseObjectCreationExpressionSyntax objectCreation => objectCreation.ArgumentList,
            ConstructorInitializerSyntax initializer => initializer.ArgumentList,
            _ => null,
        };
        if (arguments is null || arguments.Arguments.Count == 0) return null;
        return root.ReplaceNode(arguments, AppendDropLast(arguments));
    }

    /// <summary>Appends <c>drop_last: true</c>, on its own line when the arguments are written one per line.</summary>
    private static ArgumentListSyntax AppendDropLast(ArgumentListSyntax list)
    {
        var last = list.Arguments.Last();
        var newArgument = SyntaxFactory.ParseArgumentList("(drop_last: true)").Arguments[0];
        var separatorTrivia = SyntaxFactory.TriviaList(SyntaxFactory.Space);
        if (list.Arguments.SeparatorCount > 0)
        {
            var previous = list.Arguments.GetSeparator(list.Arguments.SeparatorCount - 1);
            if (previous.TrailingTrivia.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia)))
            {
                separatorTrivia = previous.TrailingTrivia;
                newArgument = newArgument.WithLeadingTrivia(last.GetLeadingTrivia());
            }
        }
        // A comment after the last argument stays attached to it, before the new comma.
        var nodesAndTokens = list.Arguments.GetWithSeparators()
            .Add(SyntaxFactory.Token(SyntaxKind.CommaToken).WithTrailingTrivia(separatorTrivia))
            .Add(newArgument);
        var lastArgumentTrailing = last.GetTrailingTrivia();
        if (separatorTrivia.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia)) || !lastArgumentTrailing.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia)))
            return list.WithArguments(SyntaxFactory.SeparatedList<ArgumentSyntax>(nodesAndTokens));
        // The last argument ends its line (closing parenthesis on the next): move that line break after the new argument.
        var rebuilt = SyntaxFactory.SeparatedList<ArgumentSyntax>(nodesAndTokens);
        rebuilt = rebuilt.Replace(rebuilt[rebuilt.Count - 2], rebuilt[rebuilt.Count - 2].WithTrailingTrivia())
            .Replace(rebuilt[rebuilt.Count - 1], rebuilt[rebuilt.Count - 1].WithTrailingTrivia(lastArgumentTrailing));
        return list.WithArguments(rebuilt);
    }
}
