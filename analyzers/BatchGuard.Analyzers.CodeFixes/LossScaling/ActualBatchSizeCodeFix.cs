using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace BatchGuard.Analyzers.CodeFixes.LossScaling;

/// <summary>
/// BG0003: divides by the actual batch size of the summed tensor (<c>/ pred.shape[0]</c>, key
/// <see cref="ActualBatchSizeKey"/>), or, where the numerator is <c>x.sum()</c>, replaces the division with
/// <c>x.mean()</c> (key <see cref="MeanKey"/>).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ActualBatchSizeCodeFix)), Shared]
public sealed class ActualBatchSizeCodeFix : CodeFixProvider
{
    public const string ActualBatchSizeKey = "BG0003.DivideByActualBatchSize";
    public const string MeanKey = "BG0003.UseMean";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIds.SumDividedByNominalBatchSize);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (DivideByActual(root, diagnostic) is not null &&
                diagnostic.Properties.TryGetValue(LossFinding.Keys.ActualBatchSize, out var actual))
            {
                context.RegisterCodeFix(CodeAction.Create($"Divide by the actual batch size ({actual})",
                    ct => Apply(context.Document, diagnostic, DivideByActual, ct), ActualBatchSizeKey), diagnostic);
            }
            if (UseMean(root, diagnostic) is not null)
            {
                context.RegisterCodeFix(CodeAction.Create("Use mean() instead of sum() / batch size",
                    ct => Apply(context.Document, diagnostic, UseMean, ct), MeanKey), diagnostic);
            }
        }
    }

    private static async Task<Document> Apply(Document document, Diagnostic diagnostic,
        System.Func<SyntaxNode, Diagnostic, SyntaxNode?> rewrite, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        return root is not null && rewrite(root, diagnostic) is { } newRoot ? document.WithSyntaxRoot(newRoot) : document;
    }

    private static SyntaxNode? DivideByActual(SyntaxNode root, Diagnostic diagnostic)
    {
        if (!diagnostic.Properties.TryGetValue(LossFinding.Keys.ActualBatchSize, out var actual) || actual is null) return null;
        if (diagnostic.AdditionalLocations.Count == 0) return null;
        if (root.FindNode(diagnostic.AdditionalLocations[0].SourceSpan, getInnermostNodeForTie: true) is not ExpressionSyntax divisor) return null;
        if (divisor.Parent is ArgumentSyntax argument) divisor = argument.Expression;
        var replacement = SyntaxFactory.ParseExpression(actual);
        if (replacement.ContainsDiagnostics) return null;
        return root.ReplaceNode(divisor, replacement.WithTriviaFrom(divisor));
    }

    private static SyntaxNode? UseMean(SyntaxNode root, Diagnostic diagnostic)
    {
        var site = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
        var numerator = site switch
        {
            BinaryExpressionSyntax { RawKind: (int)SyntaxKind.DivideExpression } division => division.Left,
            InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax div, Parent: not ExpressionStatementSyntax } => div.Expression,
            _ => null,
        };
        while (numerator is ParenthesizedExpressionSyntax parenthesized) numerator = parenthesized.Expression;
        if (numerator is not InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "sum" } sum } sumCall ||
            sumCall.ArgumentList.Arguments.Count != 0) return null;
        var mean = sumCall.WithExpression(sum.WithName(SyntaxFactory.IdentifierName("mean").WithTriviaFrom(sum.Name)));
        return root.ReplaceNode(site, mean.WithTriviaFrom(site));
    }
}
