using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BatchGuard.Analyzers.Optimization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace BatchGuard.Analyzers.CodeFixes.Optimization;

/// <summary>
/// BG0007: inserts <c>torch.nn.utils.clip_grad_norm_(&lt;the optimizer's parameters&gt;, 1.0);</c> before step().
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddGradientClippingCodeFix)), Shared]
public sealed class AddGradientClippingCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = "BG0007.ClipGradNorm";

    /// <summary>A common default; the rule page explains how to choose it from the observed gradient norms.</summary>
    private const string MaxNorm = "1.0";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIds.StatefulOptimizerWithoutClipping);

    // Each fix inserts one statement before a different step(): the batch fixer merges them without conflicts.
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            var clip = BuildClipStatement(root, model, diagnostic, context.CancellationToken);
            if (clip is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create("Clip the gradient norm before step()",
                    _ => Task.FromResult(context.Document.WithSyntaxRoot(root.InsertNodesBefore(clip.Value.step, new[] { clip.Value.statement }))),
                    EquivalenceKey),
                diagnostic);
        }
    }

    private static (StatementSyntax step, StatementSyntax statement)? BuildClipStatement(SyntaxNode root, SemanticModel model,
        Diagnostic diagnostic, CancellationToken ct)
    {
        var stepCall = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)
            .AncestorsAndSelf().OfType<InvocationExpressionSyntax>().FirstOrDefault();
        var stepStatement = stepCall?.AncestorsAndSelf().OfType<StatementSyntax>()
            .FirstOrDefault(s => s.Parent is BlockSyntax or SwitchSectionSyntax);
        if (stepCall is null || stepStatement is null) return null;
        var position = stepStatement.SpanStart;

        var parameters = ParametersExpression(model, diagnostic, stepCall, position, ct);
        var utils = UtilsExpression(model, position, ct);
        if (parameters is null || utils is null) return null;

        var call = SyntaxFactory.ParseExpression($"{utils}.clip_grad_norm_({parameters}, {MaxNorm})");
        var statement = SyntaxFactory.ExpressionStatement(call)
            .WithLeadingTrivia(stepStatement.GetLeadingTrivia().Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia)).Reverse().Take(1))
            .WithTrailingTrivia(stepStatement.GetTrailingTrivia().Where(t => t.IsKind(SyntaxKind.EndOfLineTrivia)).Reverse().Take(1));
        return (stepStatement, statement);
    }

    /// <summary>The optimizer's parameter source if it binds at the step, else <c>optimizer.parameters()</c>.</summary>
    private static string? ParametersExpression(SemanticModel model, Diagnostic diagnostic, InvocationExpressionSyntax stepCall,
        int position, CancellationToken ct)
    {
        if (diagnostic.Properties.TryGetValue(GradientClippingAnalyzer.ParametersSourceProperty, out var source) && source is not null)
        {
            var parsed = SyntaxFactory.ParseExpression(source);
            if (model.GetSpeculativeSymbolInfo(position, parsed, SpeculativeBindingOption.BindAsExpression).Symbol is not null) return source;
        }
        // A plain name (optionally this./x!) can be evaluated twice without side effects.
        if (stepCall.Expression is MemberAccessExpressionSyntax { Expression: var receiver } &&
            IsPlainName(receiver))
        {
            return receiver.WithoutTrivia() + ".parameters()";
        }
        ct.ThrowIfCancellationRequested();
        return null;
    }

    private static bool IsPlainName(ExpressionSyntax expression) => expression switch
    {
        PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression, Operand: var operand } => IsPlainName(operand),
        IdentifierNameSyntax => true,
        MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax or IdentifierNameSyntax } => true,
        _ => false,
    };

    /// <summary><c>torch.nn.utils</c> when that binds where the call goes (usual <c>using TorchSharp;</c>), else fully qualified.</summary>
    private static string? UtilsExpression(SemanticModel model, int position, CancellationToken ct)
    {
        foreach (var candidate in new[] { "torch.nn.utils", "TorchSharp.torch.nn.utils", "global::TorchSharp.torch.nn.utils" })
        {
            ct.ThrowIfCancellationRequested();
            var symbol = model.GetSpeculativeSymbolInfo(position, SyntaxFactory.ParseExpression(candidate), SpeculativeBindingOption.BindAsExpression).Symbol;
            if (symbol is INamedTypeSymbol { Name: "utils", ContainingType.Name: "nn" }) return candidate;
        }
        return null;
    }
}
