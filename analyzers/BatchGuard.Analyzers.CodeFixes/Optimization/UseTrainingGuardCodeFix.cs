using System.Collections.Generic;
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
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Simplification;

namespace BatchGuard.Analyzers.CodeFixes.Optimization;

/// <summary>
/// BG0007, offered only when the compilation references the BatchGuard runtime: guard the loop with a
/// <c>TrainingGuard</c> that clips (<see cref="EquivalenceKey"/>). Before the training loop (before its outermost
/// enclosing loop whose body does not create the optimizer or its parameters):
/// <code>using var guard = new TrainingGuard(&lt;parameters&gt;, &lt;optimizer&gt;, new GuardOptions { Policy = GuardPolicy.Clip });</code>
/// (<c>GuardOptions.From(loader) with { Policy = GuardPolicy.Clip }</c> when the loop enumerates a TorchSharp DataLoader)
/// and the step becomes <c>if (guard.AfterBackward(loss, input.shape[0]).ShouldStep) optimizer.step();</c>.
/// Offered only when that code is sound: one backward() on a local loss and one step() in the loop, and one model input
/// (the batch) whose <c>shape[0]</c> is the batch size.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UseTrainingGuardCodeFix)), Shared]
public sealed class UseTrainingGuardCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = "BG0007.UseTrainingGuard";

    private const string Title = "Guard the loop with BatchGuard's TrainingGuard (clips before step())";

    private static readonly SyntaxAnnotation AddImport = new(nameof(UseTrainingGuardCodeFix) + ".AddImport");

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIds.StatefulOptimizerWithoutClipping);

    // One rewrite per document: several loops may share an insertion point, a member's guard names must not collide,
    // and `using BatchGuard.Guard;` must be added once.
    public override FixAllProvider GetFixAllProvider() => FixAll.Instance;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var document = context.Document;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (await PlanAsync(document, diagnostic, context.CancellationToken).ConfigureAwait(false) is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create(Title, ct => ApplyAsync(document, ImmutableArray.Create(diagnostic), ct), EquivalenceKey),
                diagnostic);
        }
    }

    /// <summary>What to write for one diagnostic. <see cref="Anchor"/> is the statement the guard is declared before.</summary>
    private sealed class Plan(
        ExpressionStatementSyntax step, StatementSyntax anchor, SyntaxNode member,
        string parameters, string optimizer, string loss, string batchSize, string? loader, GuardTypes types)
    {
        public ExpressionStatementSyntax Step { get; } = step;
        public StatementSyntax Anchor { get; } = anchor;
        /// <summary>The member (or compilation unit, for top-level code) whose locals the guard's name must not clash with.</summary>
        public SyntaxNode Member { get; } = member;
        public string Parameters { get; } = parameters;
        public string Optimizer { get; } = optimizer;
        public string Loss { get; } = loss;
        public string BatchSize { get; } = batchSize;
        /// <summary>The TorchSharp DataLoader the training loop enumerates, for <c>GuardOptions.From(loader)</c>; null if none.</summary>
        public string? Loader { get; } = loader;
        public GuardTypes Types { get; } = types;
    }

    private sealed class GuardTypes(INamedTypeSymbol trainingGuard, INamedTypeSymbol guardOptions, INamedTypeSymbol guardPolicy)
    {
        public INamedTypeSymbol TrainingGuard { get; } = trainingGuard;
        public INamedTypeSymbol GuardOptions { get; } = guardOptions;
        public INamedTypeSymbol GuardPolicy { get; } = guardPolicy;
    }

    private static async Task<Plan?> PlanAsync(Document document, Diagnostic diagnostic, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        if (root is null || model is null) return null;

        var types = ResolveTypes(model.Compilation);
        var symbols = TorchSharpSymbols.TryCreate(model.Compilation);
        if (types is null || symbols is null) return null;

        var stepCall = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)
            .AncestorsAndSelf().OfType<InvocationExpressionSyntax>().FirstOrDefault();
        // The step's value must be unused: it becomes the body of an `if`.
        if (stepCall?.Parent is not ExpressionStatementSyntax stepStatement) return null;
        if (stepCall.Expression is not MemberAccessExpressionSyntax { Expression: var receiver } || !IsPlainName(receiver)) return null;

        var loopStatement = EnclosingLoops(stepStatement).FirstOrDefault();
        if (loopStatement is null || model.GetOperation(loopStatement, ct) is not ILoopOperation loopOperation) return null;
        var loop = new TrainingLoop(loopOperation, TrainingLoopFinder.InvocationsInBody(loopOperation), symbols);
        if (loop.Steps.Length != 1 || loop.Steps[0].Syntax != stepCall || loop.Backwards.Length != 1) return null;

        var stepPosition = stepStatement.SpanStart;
        var loss = LossName(loop.Backwards[0], stepPosition, model);
        var batch = BatchInput(loop, symbols, stepPosition, model);
        if (loss is null || batch is null) return null;

        var optimizer = receiver.WithoutTrivia().ToString();
        var parameters = ParametersExpression(diagnostic, optimizer);
        // Top-level statements share one scope: their "member" is the whole compilation unit.
        var member = stepStatement.Ancestors().FirstOrDefault(n => n is MemberDeclarationSyntax and not GlobalStatementSyntax or CompilationUnitSyntax);
        var anchor = Anchor(loopStatement, model, stepPosition, new[] { parameters, optimizer });
        if (member is null || anchor is null) return null;
        // The analyzer's parameters source (an expression from the optimizer's creation) must also bind at the anchor.
        if (!Binds(model, anchor.SpanStart, parameters))
        {
            parameters = optimizer + ".parameters()";
            if (Anchor(loopStatement, model, stepPosition, new[] { parameters, optimizer }) != anchor) return null;
        }
        var loader = Loader(loopOperation, symbols, anchor, model, stepPosition);
        return new Plan(stepStatement, anchor, member, parameters, optimizer, loss, batch + ".shape[0]", loader, types);
    }

    private static GuardTypes? ResolveTypes(Compilation compilation)
    {
        var guard = compilation.GetTypeByMetadataName(BatchGuardSymbols.TrainingGuardMetadataName);
        var options = compilation.GetTypeByMetadataName("BatchGuard.Guard.GuardOptions");
        var policy = compilation.GetTypeByMetadataName("BatchGuard.Guard.GuardPolicy");
        return guard is null || options is null || policy is null ? null : new GuardTypes(guard, options, policy);
    }

    /// <summary>Loop statements around the node, innermost first, within one body (not across lambdas or local functions).</summary>
    private static IEnumerable<StatementSyntax> EnclosingLoops(SyntaxNode node)
    {
        foreach (var ancestor in node.Ancestors())
        {
            if (ancestor is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax or MemberDeclarationSyntax) yield break;
            if (ancestor is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax)
                yield return (StatementSyntax)ancestor;
        }
    }

    /// <summary>The loss local whose backward() the loop calls, when the same local is what the name means at the step.</summary>
    private static string? LossName(IInvocationOperation backward, int stepPosition, SemanticModel model)
    {
        if (backward.Instance?.WalkDownConversions() is not ILocalReferenceOperation { Local: var local }) return null;
        if (backward.Syntax.SpanStart >= stepPosition) return null;
        var bound = model.GetSpeculativeSymbolInfo(stepPosition, SyntaxFactory.IdentifierName(local.Name), SpeculativeBindingOption.BindAsExpression).Symbol;
        return SymbolEqualityComparer.Default.Equals(bound, local) ? local.Name : null;
    }

    /// <summary>
    /// The one tensor the loop feeds its model (<c>model.forward(x)</c> / <c>model.call(x)</c>), when it can be written
    /// again at the step and reads the same value: a variable, or a constant-index element of one (<c>batch[0]</c>,
    /// <c>batch["x"]</c>). Its first dimension is the batch size. Several different inputs: null (no sound choice).
    /// </summary>
    private static string? BatchInput(TrainingLoop loop, TorchSharpSymbols symbols, int stepPosition, SemanticModel model)
    {
        var inputs = new HashSet<string>();
        foreach (var call in loop.Calls)
        {
            if (call.TargetMethod.Name is not ("forward" or "call") || call.Arguments.Length != 1) continue;
            if (!symbols.IsModule(call.TargetMethod.ContainingType) || TorchSharpSymbols.InheritsFrom(call.TargetMethod.ContainingType, symbols.Loss3)) continue;
            var input = call.Arguments[0].Value.WalkDownConversions();
            if (!symbols.IsTensor(input.Type)) continue;
            if (!IsReadableAgain(input) || RootSymbol(input) is not { } root) return null;
            var text = input.Syntax.ToString();
            var bound = model.GetSpeculativeSymbolInfo(stepPosition, SyntaxFactory.IdentifierName(root.Name), SpeculativeBindingOption.BindAsExpression).Symbol;
            if (!SymbolEqualityComparer.Default.Equals(bound, root)) return null;
            inputs.Add(text);
        }
        return inputs.Count == 1 ? inputs.First() : null;
    }

    private static bool IsReadableAgain(IOperation value) => value switch
    {
        ILocalReferenceOperation or IParameterReferenceOperation => true,
        IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } => true,
        IArrayElementReferenceOperation { Indices: var indices } element =>
            indices.All(i => i.ConstantValue.HasValue) && IsReadableAgain(element.ArrayReference.WalkDownConversions()),
        IPropertyReferenceOperation { Arguments: { Length: > 0 } arguments } indexer =>
            arguments.All(a => a.Value.ConstantValue.HasValue) && indexer.Instance is { } instance && IsReadableAgain(instance.WalkDownConversions()),
        _ => false,
    };

    private static ISymbol? RootSymbol(IOperation value) => value switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        IFieldReferenceOperation field => field.Field,
        IArrayElementReferenceOperation element => RootSymbol(element.ArrayReference.WalkDownConversions()),
        IPropertyReferenceOperation { Instance: { } instance } => RootSymbol(instance.WalkDownConversions()),
        _ => null,
    };

    /// <summary>
    /// <c>foreach (var batch in loader)</c> over a TorchSharp DataLoader held in a variable that is already set, and not
    /// reassigned, where the guard is declared: the guard's options can then read its batch size and epoch length.
    /// </summary>
    private static string? Loader(ILoopOperation loop, TorchSharpSymbols symbols, StatementSyntax anchor, SemanticModel model, int stepPosition)
    {
        if (loop is not IForEachLoopOperation forEach) return null;
        var collection = forEach.Collection.WalkDownConversions();
        if (!symbols.IsDataLoader(collection.Type)) return null;
        if (collection is not (ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation }))
            return null;
        var text = collection.Syntax.ToString();
        if (!Binds(model, anchor.SpanStart, text)) return null;
        var names = collection.Syntax.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Select(n => n.Identifier.ValueText).ToList();
        var variables = names
            .Select(n => model.GetSpeculativeSymbolInfo(stepPosition, SyntaxFactory.IdentifierName(n), SpeculativeBindingOption.BindAsExpression).Symbol)
            .ToList();
        return Available(anchor, variables, names) ? text : null;
    }

    /// <summary>The optimizer's parameter source from the analyzer (<c>model.parameters()</c>), else <c>optimizer.parameters()</c>.</summary>
    private static string ParametersExpression(Diagnostic diagnostic, string optimizer) =>
        diagnostic.Properties.TryGetValue(GradientClippingAnalyzer.ParametersSourceProperty, out var source) && source is not null
            ? source
            : optimizer + ".parameters()";

    /// <summary>
    /// Where the guard is declared: before the outermost loop around the training loop (an epoch loop) in whose body
    /// none of the guard's arguments is declared or assigned, so one guard sees the whole run. The statement must sit
    /// in a block or be a top-level statement.
    /// </summary>
    private static StatementSyntax? Anchor(StatementSyntax trainingLoop, SemanticModel model, int stepPosition, IEnumerable<string> arguments)
    {
        var names = arguments.SelectMany(a => SyntaxFactory.ParseExpression(a).DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
            .Select(n => n.Identifier.ValueText).Distinct().ToList();
        var variables = names
            .Select(n => model.GetSpeculativeSymbolInfo(stepPosition, SyntaxFactory.IdentifierName(n), SpeculativeBindingOption.BindAsExpression).Symbol)
            .Where(s => s is ILocalSymbol or IParameterSymbol or IFieldSymbol or IPropertySymbol)
            .ToList();

        StatementSyntax? best = null;
        foreach (var candidate in new[] { trainingLoop }.Concat(EnclosingLoops(trainingLoop)))
        {
            if (!Available(candidate, variables, names)) break;
            if (candidate.Parent is BlockSyntax or GlobalStatementSyntax) best = candidate;
        }
        return best;
    }

    private static bool Available(StatementSyntax candidate, List<ISymbol?> variables, List<string> names)
    {
        foreach (var variable in variables)
        {
            if (variable is ILocalSymbol local &&
                local.DeclaringSyntaxReferences.Any(r => r.SyntaxTree != candidate.SyntaxTree || r.Span.End > candidate.SpanStart)) return false;
        }
        // Conservatively by name: anything the arguments read that the candidate's body assigns changes per iteration.
        return !candidate.DescendantNodes().OfType<AssignmentExpressionSyntax>().Any(a => AssignedName(a.Left) is { } n && names.Contains(n));
    }

    private static string? AssignedName(ExpressionSyntax left) => left switch
    {
        IdentifierNameSyntax identifier => identifier.Identifier.ValueText,
        MemberAccessExpressionSyntax { Name: var name } => name.Identifier.ValueText,
        _ => null,
    };

    private static bool Binds(SemanticModel model, int position, string expression) =>
        model.GetSpeculativeSymbolInfo(position, SyntaxFactory.ParseExpression(expression), SpeculativeBindingOption.BindAsExpression).Symbol is not null;

    /// <summary>A plain name (optionally this./x!) can be evaluated again without side effects.</summary>
    private static bool IsPlainName(ExpressionSyntax expression) => expression switch
    {
        PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression, Operand: var operand } => IsPlainName(operand),
        IdentifierNameSyntax => true,
        MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax or IdentifierNameSyntax } => true,
        _ => false,
    };

    private static async Task<Document> ApplyAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken ct)
    {
        var plans = new List<Plan>();
        foreach (var diagnostic in diagnostics)
        {
            if (await PlanAsync(document, diagnostic, ct).ConfigureAwait(false) is { } plan && plans.All(p => p.Step != plan.Step)) plans.Add(plan);
        }
        if (plans.Count == 0) return document;

        var editor = await DocumentEditor.CreateAsync(document, ct).ConfigureAwait(false);
        var model = editor.SemanticModel;
        var taken = new Dictionary<SyntaxNode, HashSet<string>>();
        foreach (var plan in plans.OrderBy(p => p.Step.SpanStart))
        {
            if (!taken.TryGetValue(plan.Member, out var names)) taken[plan.Member] = names = new HashSet<string>();
            var name = GuardName(plan, model, names);
            names.Add(name);
            var declaration = GuardDeclaration(plan, name, editor.Generator);
            if (plan.Anchor.Parent is GlobalStatementSyntax global)
                editor.InsertBefore(global, SyntaxFactory.GlobalStatement(declaration));
            else
                editor.InsertBefore(plan.Anchor, declaration);
            var guarded = SyntaxFactory.ParseStatement(
                    $"if ({name}.AfterBackward({plan.Loss}, {plan.BatchSize}).ShouldStep) {plan.Step.WithoutTrivia().ToFullString()}")
                .WithTriviaFrom(plan.Step);
            editor.ReplaceNode(plan.Step, guarded);
        }
        // `using BatchGuard.Guard;` for the qualified type names; the code action's clean-up then simplifies them.
        return await ImportAdder.AddImportsAsync(editor.GetChangedDocument(), AddImport, cancellationToken: ct).ConfigureAwait(false);
    }

    /// <summary>"guard", or "guard2", ... when the member already uses that name anywhere (or an earlier fix took it).</summary>
    private static string GuardName(Plan plan, SemanticModel model, HashSet<string> taken)
    {
        var used = new HashSet<string>(plan.Member.DescendantTokens().Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText));
        for (var i = 1; ; i++)
        {
            var name = i == 1 ? "guard" : "guard" + i;
            if (!used.Contains(name) && !taken.Contains(name) && model.LookupSymbols(plan.Anchor.SpanStart, name: name).IsEmpty) return name;
        }
    }

    private static StatementSyntax GuardDeclaration(Plan plan, string name, SyntaxGenerator generator)
    {
        ExpressionSyntax Type(INamedTypeSymbol type) =>
            ((TypeSyntax)generator.TypeExpression(type, addImport: true)).WithAdditionalAnnotations(AddImport, Simplifier.Annotation);

        var options = plan.Loader is null
            ? "new GuardOptions { Policy = GuardPolicy.Clip }"
            : $"GuardOptions.From({plan.Loader}) with {{ Policy = GuardPolicy.Clip }}";
        var statement = SyntaxFactory.ParseStatement($"using var {name} = new TrainingGuard({plan.Parameters}, {plan.Optimizer}, {options});");
        // Swap the simple names for the symbols' qualified names (resolved regardless of the file's usings).
        statement = statement.ReplaceNodes(
            statement.DescendantNodes().OfType<IdentifierNameSyntax>().Where(n => n.Identifier.ValueText is "TrainingGuard" or "GuardOptions" or "GuardPolicy"),
            (original, _) => Type(original.Identifier.ValueText switch
            {
                "TrainingGuard" => plan.Types.TrainingGuard,
                "GuardOptions" => plan.Types.GuardOptions,
                _ => plan.Types.GuardPolicy,
            }).WithTriviaFrom(original));
        var indentation = plan.Anchor.GetLeadingTrivia().Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia)).Reverse().Take(1);
        var endOfLine = plan.Anchor.GetTrailingTrivia().Where(t => t.IsKind(SyntaxKind.EndOfLineTrivia)).Reverse().Take(1).ToList();
        return statement.WithLeadingTrivia(indentation).WithTrailingTrivia(endOfLine.Count > 0 ? endOfLine : new List<SyntaxTrivia> { SyntaxFactory.ElasticLineFeed });
    }

    private sealed class FixAll : DocumentBasedFixAllProvider
    {
        public static readonly FixAll Instance = new();

        protected override string GetFixAllTitle(FixAllContext fixAllContext) => "Guard every such loop with BatchGuard's TrainingGuard";

        protected override async Task<Document?> FixAllAsync(FixAllContext fixAllContext, Document document, ImmutableArray<Diagnostic> diagnostics) =>
            await ApplyAsync(document, diagnostics, fixAllContext.CancellationToken).ConfigureAwait(false);
    }
}
