using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using System.Linq;

namespace BatchGuard.Analyzers.CodeFixes.LossScaling;

/// <summary>
/// BG0005: guards the count against zero — a tensor count becomes <c>count.clamp_min(1)</c>, a host number
/// <c>Math.Max(count, 1)</c>. Equivalence key: <see cref="EquivalenceKey"/>.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(GuardCountCodeFix)), Shared]
public sealed class GuardCountCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = "BG0005.GuardCount";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIds.DivisionByCountThatCanBeZero);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (Rewrite(root, diagnostic) is null) continue;
            var title = IsHost(diagnostic) ? "Guard the count with Math.Max(count, 1)" : "Guard the count with clamp_min(1)";
            context.RegisterCodeFix(CodeAction.Create(title, ct => Apply(context.Document, diagnostic, ct), EquivalenceKey), diagnostic);
        }
    }

    private static bool IsHost(Diagnostic diagnostic) =>
        diagnostic.Properties.TryGetValue(LossFinding.Keys.CountKind, out var kind) && kind == "host";

    private static async Task<Document> Apply(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        return root is not null && Rewrite(root, diagnostic) is { } newRoot ? document.WithSyntaxRoot(newRoot) : document;
    }

    private static SyntaxNode? Rewrite(SyntaxNode root, Diagnostic diagnostic)
    {
        if (diagnostic.AdditionalLocations.Count == 0) return null;
        if (root.FindNode(diagnostic.AdditionalLocations[0].SourceSpan, getInnermostNodeForTie: true) is not ExpressionSyntax count) return null;
        if (count.Parent is ArgumentSyntax argument) count = argument.Expression;
        var bare = count.WithoutTrivia();
        ExpressionSyntax guarded;
        if (IsHost(diagnostic))
        {
            var math = ImportsSystem(count) ? "Math" : "System.Math";
            guarded = SyntaxFactory.ParseExpression($"{math}.Max({bare}, 1)");
        }
        else
        {
            var receiver = bare is IdentifierNameSyntax or MemberAccessExpressionSyntax or InvocationExpressionSyntax or
                ElementAccessExpressionSyntax or ParenthesizedExpressionSyntax
                ? bare
                : SyntaxFactory.ParenthesizedExpression(bare);
            guarded = SyntaxFactory.ParseExpression($"{receiver}.clamp_min(1)");
        }
        return root.ReplaceNode(count, guarded.WithTriviaFrom(count));
    }

    /// <summary>A <c>using System;</c> in scope (file, namespace, or global usings in this file).</summary>
    private static bool ImportsSystem(SyntaxNode node) =>
        node.AncestorsAndSelf().Any(a => a switch
        {
            CompilationUnitSyntax unit => unit.Usings.Any(IsUsingSystem),
            BaseNamespaceDeclarationSyntax ns => ns.Usings.Any(IsUsingSystem),
            _ => false,
        });

    private static bool IsUsingSystem(UsingDirectiveSyntax directive) =>
        directive.Alias is null && directive.StaticKeyword.IsKind(SyntaxKind.None) && directive.Name?.ToString() == "System";
}
