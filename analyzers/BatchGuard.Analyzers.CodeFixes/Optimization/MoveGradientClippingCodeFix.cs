using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BatchGuard.Analyzers.Optimization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Formatting;

namespace BatchGuard.Analyzers.CodeFixes.Optimization;

/// <summary>BG0006: moves a misplaced clipping statement to just before the step() that follows the last backward().</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MoveGradientClippingCodeFix)), Shared]
public sealed class MoveGradientClippingCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = "BG0006.MoveBeforeStep";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIds.MisplacedGradientClipping);

    public override FixAllProvider GetFixAllProvider() => FixAll.Instance;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (FindMove(root, diagnostic) is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create("Move the clipping between backward() and step()",
                    ct => ApplyAsync(context.Document, new[] { diagnostic }, ct), EquivalenceKey),
                diagnostic);
        }
    }

    /// <summary>The statement to move and the statement it goes before, or null when the move is not safe.</summary>
    private static (StatementSyntax clip, StatementSyntax step)? FindMove(SyntaxNode root, Diagnostic diagnostic)
    {
        if (!diagnostic.Properties.TryGetValue(GradientClippingAnalyzer.TargetStepPositionProperty, out var text) ||
            !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var stepPosition)) return null;

        var clipCall = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)
            .AncestorsAndSelf().OfType<InvocationExpressionSyntax>().FirstOrDefault();
        // Only a statement that is the call itself: a value used elsewhere (var norm = clip(...)) may be read in between.
        if (clipCall?.Parent is not ExpressionStatementSyntax clipStatement) return null;

        var stepCall = root.FindToken(stepPosition).Parent?.AncestorsAndSelf().OfType<InvocationExpressionSyntax>().FirstOrDefault();
        var stepStatement = stepCall?.AncestorsAndSelf().OfType<StatementSyntax>()
            .FirstOrDefault(s => s.Parent is BlockSyntax or SwitchSectionSyntax);
        if (stepStatement is null || stepStatement.Contains(clipStatement) || clipStatement.Contains(stepStatement)) return null;
        if (clipStatement.Parent is not BlockSyntax and not SwitchSectionSyntax) return null;

        // Locals the call reads must still be in scope, and already declared, at the new place.
        foreach (var name in clipCall.DescendantNodes().OfType<IdentifierNameSyntax>())
        {
            var declaration = clipStatement.Parent!.ChildNodes().OfType<LocalDeclarationStatementSyntax>()
                .FirstOrDefault(d => d.Declaration.Variables.Any(v => v.Identifier.ValueText == name.Identifier.ValueText));
            if (declaration is not null && !(declaration.Parent!.Contains(stepStatement) && declaration.SpanStart < stepStatement.SpanStart))
                return null;
        }
        return (clipStatement, stepStatement);
    }

    private static async Task<Document> ApplyAsync(Document document, IEnumerable<Diagnostic> diagnostics, CancellationToken ct)
    {
        var editor = await DocumentEditor.CreateAsync(document, ct).ConfigureAwait(false);
        var moved = new HashSet<StatementSyntax>();
        foreach (var diagnostic in diagnostics)
        {
            if (FindMove(editor.OriginalRoot, diagnostic) is not var (clip, step) || !moved.Add(clip)) continue;
            editor.RemoveNode(clip, SyntaxRemoveOptions.KeepNoTrivia);
            editor.InsertBefore(step, clip.WithAdditionalAnnotations(Formatter.Annotation));
        }
        return editor.GetChangedDocument();
    }

    private sealed class FixAll : DocumentBasedFixAllProvider
    {
        public static readonly FixAll Instance = new();

        protected override string GetFixAllTitle(FixAllContext fixAllContext) => "Move every misplaced clipping between backward() and step()";

        protected override async Task<Document?> FixAllAsync(FixAllContext fixAllContext, Document document, ImmutableArray<Diagnostic> diagnostics) =>
            await ApplyAsync(document, diagnostics, fixAllContext.CancellationToken).ConfigureAwait(false);
    }
}
