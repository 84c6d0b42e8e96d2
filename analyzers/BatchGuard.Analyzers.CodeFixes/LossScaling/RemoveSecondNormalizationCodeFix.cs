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

namespace BatchGuard.Analyzers.CodeFixes.LossScaling;

/// <summary>
/// BG0004: removes the second normalisation — <c>perBatch / n</c> and <c>perBatch * (1.0 / n)</c> become
/// <c>perBatch</c>, <c>x.div(n)</c> becomes <c>x</c>, and a statement <c>loss /= n;</c> or <c>loss.div_(n);</c> is deleted. Equivalence key:
/// <see cref="EquivalenceKey"/>.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveSecondNormalizationCodeFix)), Shared]
public sealed class RemoveSecondNormalizationCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = "BG0004.RemoveSecondNormalization";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIds.LossNormalizedTwice);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            var site = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
            if (Rewrite(root, site, KeepsRight(diagnostic)) is null) continue;
            context.RegisterCodeFix(CodeAction.Create("Remove the second normalisation",
                ct => Apply(context.Document, diagnostic, ct), EquivalenceKey), diagnostic);
        }
    }

    private static async Task<Document> Apply(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null) return document;
        var site = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
        return Rewrite(root, site, KeepsRight(diagnostic)) is { } newRoot ? document.WithSyntaxRoot(newRoot) : document;
    }

    private static SyntaxNode? Rewrite(SyntaxNode root, SyntaxNode site, bool keepRight)
    {
        switch (site)
        {
            case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.DivideExpression } division:
                return root.ReplaceNode(division, division.Left.WithTriviaFrom(division));
            case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.MultiplyExpression } product:
                var kept = keepRight ? product.Right : product.Left;
                return root.ReplaceNode(product, kept.WithTriviaFrom(product));
            case InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } call:
                return call.Parent is ExpressionStatementSyntax inPlace
                    ? RemoveStatement(root, inPlace)
                    : root.ReplaceNode(call, access.Expression.WithTriviaFrom(call));
            case AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.DivideAssignmentExpression, Parent: ExpressionStatementSyntax statement }:
                return RemoveStatement(root, statement);
            case AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.DivideAssignmentExpression } assignment:
                return root.ReplaceNode(assignment, assignment.Left.WithTriviaFrom(assignment));
            default:
                return null;
        }
    }

    /// <summary>For <c>(1.0 / n) * loss</c> the loss is the right operand.</summary>
    private static bool KeepsRight(Diagnostic diagnostic) =>
        diagnostic.Properties.TryGetValue(BatchGuard.Analyzers.BatchDegree.LossFinding.Keys.KeepOperand, out var keep) && keep == "right";

    /// <summary>Deletes the statement; comments written before it stay, its indentation and line go.</summary>
    private static SyntaxNode? RemoveStatement(SyntaxNode root, StatementSyntax statement)
    {
        var hasComments = statement.GetLeadingTrivia().Any(t => !t.IsKind(SyntaxKind.WhitespaceTrivia) && !t.IsKind(SyntaxKind.EndOfLineTrivia));
        return root.RemoveNode(statement, hasComments ? SyntaxRemoveOptions.KeepLeadingTrivia : SyntaxRemoveOptions.KeepNoTrivia);
    }
}
