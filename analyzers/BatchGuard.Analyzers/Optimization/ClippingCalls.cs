using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace BatchGuard.Analyzers.Optimization;

/// <summary>
/// What counts as gradient clipping in one compilation: the calls BG0006 places (TorchSharp's clip_grad_* and the
/// BatchGuard guard's AfterBackward), and for BG0007 any clipping a training loop reaches.
/// </summary>
internal sealed class ClippingCalls(TorchSharpSymbols torch, BatchGuardSymbols? guard)
{
    /// <summary>A call that clips the gradients in place and must run between backward() and step() (BG0006).</summary>
    public bool IsClippingCall(IInvocationOperation call) =>
        torch.IsTorchClipCall(call) && !OnlyMeasures(call) || guard?.IsAfterBackward(call) == true;

    /// <summary>
    /// <c>clip_grad_norm_(parameters, double.PositiveInfinity)</c>: an infinite bound changes no gradient, and the call
    /// returns the total norm, the usual way to log it (anywhere in the iteration). Not clipping.
    /// </summary>
    private static bool OnlyMeasures(IInvocationOperation call)
    {
        foreach (var argument in call.Arguments)
        {
            if (argument.Parameter?.Ordinal != 1) continue;
            return argument.Value.ConstantValue is { HasValue: true } bound &&
                   (bound.Value is double d && double.IsPositiveInfinity(d) || bound.Value is float f && float.IsPositiveInfinity(f));
        }
        return false;
    }

    /// <summary>
    /// BG0007: any clipping in the loop, even misplaced (that is BG0006's business): a clipping call, a
    /// <c>TrainingGuard.Step</c> (which clips itself), a call to the user's own helper whose name says it clips, or a
    /// gradient clamped by hand; also inside lambdas and local functions of the loop, and in the local functions and
    /// lambda-valued locals of the same method that the loop calls.
    /// </summary>
    public bool HasAnyClipping(TrainingLoop loop, SourceMarks marks) =>
        loop.Calls.Any(IsAnyClipping) || MayClipThroughNestedCode(loop.Scope, marks) && ClipsThroughNestedCode(loop) ||
        loop.Calls.Any(call => IsAHelperThatClips(call, marks) || IsAHookThatClips(call, marks));

    /// <summary>
    /// A virtual, abstract or interface method the loop calls (<c>BeforeStep()</c>, <c>callback.OnAfterBackward(model)</c>)
    /// that an override or implementation in this compilation clips in (its text names a clipping call): a trainer base
    /// class whose subclasses clip, a list of callbacks one of which clips. Only ever silences the rule, so evidence in
    /// one override is enough; it runs only for a loop about to be reported.
    /// </summary>
    private bool IsAHookThatClips(IInvocationOperation call, SourceMarks marks)
    {
        var method = call.TargetMethod.OriginalDefinition;
        var type = method.ContainingType;
        if (method.MethodKind != MethodKind.Ordinary || type is null) return false;
        var overridable = type.TypeKind == TypeKind.Interface ||
                          (method.IsAbstract || method.IsVirtual || method.IsOverride && !method.IsSealed) && !type.IsSealed;
        // Hooks the user declared: a library's virtual methods (Module.forward, Optimizer.step) are not searched.
        if (!overridable || !method.Locations.Any(l => l.IsInSource)) return false;
        return _hooksThatClip.GetOrAdd(method, hook => AnImplementationClips(hook, marks));
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<IMethodSymbol, bool> _hooksThatClip = new(SymbolEqualityComparer.Default);

    private bool AnImplementationClips(IMethodSymbol method, SourceMarks marks)
    {
        var compilation = torch.Compilation;
        if (!ClippingDeclarations(marks).TryGetValue(method.Name, out var candidates)) return false;
        foreach (var declaration in candidates)
        {
#pragma warning disable RS1030 // The override lives in another member, possibly another file: no context offers its model.
            var model = compilation.GetSemanticModel(declaration.SyntaxTree);
#pragma warning restore RS1030
            if (model.GetDeclaredSymbol(declaration) is not IMethodSymbol implementation || !Implements(implementation, method)) continue;
            // Confirmed on the bound body: a clipping call, not a comment or a log message that names one.
            if (model.GetOperation(declaration) is { } body && body.DescendantsAndSelf().OfType<IInvocationOperation>().Any(IsAnyClipping)) return true;
        }
        return false;
    }

    private Dictionary<string, List<MethodDeclarationSyntax>>? _clippingDeclarations;

    /// <summary>
    /// The compilation's method declarations whose body names a clipping call, by method name: built once, from the
    /// words' positions in each file, so that looking up a hook's overrides costs a dictionary look-up.
    /// </summary>
    private Dictionary<string, List<MethodDeclarationSyntax>> ClippingDeclarations(SourceMarks marks)
    {
        if (Volatile.Read(ref _clippingDeclarations) is { } built) return built;
        var byName = new Dictionary<string, List<MethodDeclarationSyntax>>(StringComparer.Ordinal);
        foreach (var tree in torch.Compilation.SyntaxTrees)
        {
            SyntaxNode? root = null;
            foreach (var word in HookClippingWords)
            {
                foreach (var position in marks.Find(tree, word))
                {
                    root ??= tree.GetRoot();
                    var declaration = root.FindToken(position).Parent?.FirstAncestorOrSelf<MethodDeclarationSyntax>();
                    if (declaration is null || !BodySpan(declaration).Contains(position)) continue;
                    if (!byName.TryGetValue(declaration.Identifier.ValueText, out var list)) byName[declaration.Identifier.ValueText] = list = new();
                    if (!list.Contains(declaration)) list.Add(declaration);
                }
            }
        }
        Interlocked.CompareExchange(ref _clippingDeclarations, byName, null);
        return _clippingDeclarations!;
    }

    // Broad: every candidate is confirmed on its bound body (IsAnyClipping), so a user's ClipGradients() helper counts.
    private static readonly string[] HookClippingWords = { "clip", "Clip", "CLIP", "clamp_", "AfterBackward" };

    private static TextSpan BodySpan(MethodDeclarationSyntax declaration) =>
        declaration.Body?.Span ?? declaration.ExpressionBody?.Span ?? default;

    /// <summary>Whether <paramref name="implementation"/> overrides <paramref name="hook"/> or implements it (an interface member).</summary>
    private static bool Implements(IMethodSymbol implementation, IMethodSymbol hook)
    {
        for (var overridden = implementation.OverriddenMethod; overridden is not null; overridden = overridden.OverriddenMethod)
        {
            if (SymbolEqualityComparer.Default.Equals(overridden.OriginalDefinition, hook)) return true;
        }
        if (hook.ContainingType.TypeKind != TypeKind.Interface) return false;
        var type = implementation.ContainingType;
        foreach (var implemented in type.AllInterfaces)
        {
            if (!SymbolEqualityComparer.Default.Equals(implemented.OriginalDefinition, hook.ContainingType.OriginalDefinition)) continue;
            foreach (var member in implemented.GetMembers(hook.Name))
            {
                if (SymbolEqualityComparer.Default.Equals(member.OriginalDefinition, hook) &&
                    SymbolEqualityComparer.Default.Equals(type.FindImplementationForInterfaceMember(member), implementation)) return true;
            }
        }
        return false;
    }

    /// <summary>
    /// A method of this compilation whose body names a clipping call (<c>void StabiliseGradients() =>
    /// clip_grad_norm_(...)</c>), one call deep: a text test, as it only ever silences the rule.
    /// </summary>
    private static bool IsAHelperThatClips(IInvocationOperation call, SourceMarks marks)
    {
        var method = call.TargetMethod.OriginalDefinition;
        if (method.MethodKind != MethodKind.Ordinary) return false;
        foreach (var reference in method.DeclaringSyntaxReferences)
        {
            var tree = reference.SyntaxTree;
            // The body only: a hook named OnAfterBackward says nothing about what it does.
            var span = reference.GetSyntax() is MethodDeclarationSyntax declaration ? BodySpan(declaration) : reference.Span;
            foreach (var word in HelperClippingWords)
            {
                if (marks.Mentions(tree, word, span)) return true;
            }
        }
        return false;
    }

    private static readonly string[] HelperClippingWords = { "clip_grad_", "AfterBackward" };

    private bool IsAnyClipping(IInvocationOperation call) =>
        IsClippingCall(call) || guard?.IsGuardStep(call) == true || IsOwnClippingHelper(call) || ClampsAGradient(call);

    /// <summary>
    /// Whether the method around the loop can hold clipping the loop's own calls do not show: its text names one of
    /// the clipping calls (clip_grad_*, a *clip* helper, clamp_ on a gradient, the guard's Step/AfterBackward).
    /// </summary>
    private static bool MayClipThroughNestedCode(IOperation loop, SourceMarks marks)
    {
        var root = CompilationIndex.Root(loop).Syntax;
        var tree = root.SyntaxTree;
        foreach (var word in ClippingWords)
        {
            if (marks.Mentions(tree, word, root.Span)) return true;
        }
        return false;
    }

    private static readonly string[] ClippingWords = { "clip", "Clip", "CLIP", "clamp_", "Step(", "AfterBackward" };

    private bool ClipsThroughNestedCode(TrainingLoop loop)
    {
        var root = CompilationIndex.Root(loop.Scope);
        foreach (var operation in loop.Body.DescendantsAndSelf())
        {
            if (operation is not IInvocationOperation call) continue;
            // Calls inside the loop's lambdas and local functions are among the descendants.
            if (IsAnyClipping(call)) return true;
            if (CalledBody(call, root) is { } body && body.DescendantsAndSelf().OfType<IInvocationOperation>().Any(IsAnyClipping)) return true;
        }
        return false;
    }

    /// <summary>The body a call runs when it is a local function of the method, or a lambda held in a local of it.</summary>
    private static IOperation? CalledBody(IInvocationOperation call, IOperation root)
    {
        var method = call.TargetMethod;
        if (method.MethodKind == MethodKind.LocalFunction) return LocalFunctionBody(method, root);
        if (method.MethodKind != MethodKind.DelegateInvoke || call.Instance?.WalkDownConversions() is not ILocalReferenceOperation local) return null;
        foreach (var operation in root.DescendantsAndSelf())
        {
            if (operation is not IVariableDeclaratorOperation declarator || !SymbolEqualityComparer.Default.Equals(declarator.Symbol, local.Local)) continue;
            return declarator.GetVariableInitializer()?.Value.WalkDownConversions() switch
            {
                IDelegateCreationOperation { Target: IAnonymousFunctionOperation lambda } => lambda.Body,
                IDelegateCreationOperation { Target: IMethodReferenceOperation { Method: { MethodKind: MethodKind.LocalFunction } target } } =>
                    LocalFunctionBody(target, root),
                _ => null,
            };
        }
        return null;
    }

    private static IOperation? LocalFunctionBody(IMethodSymbol function, IOperation root)
    {
        foreach (var operation in root.DescendantsAndSelf())
        {
            if (operation is ILocalFunctionOperation declared && SymbolEqualityComparer.Default.Equals(declared.Symbol, function.OriginalDefinition))
                return (IOperation?)declared.Body ?? declared.IgnoredBody;
        }
        return null;
    }

    /// <summary>
    /// Clipping by hand: <c>p.grad.clamp_(-1, 1)</c> (also <c>p.grad?.clamp_(...)</c>, <c>clip_</c>) bounds the
    /// gradient itself, unlike <c>clamp</c> on the values a model computes.
    /// </summary>
    private static bool ClampsAGradient(IInvocationOperation call)
    {
        if (call.TargetMethod.Name is not ("clamp_" or "clip_")) return false;
        var receiver = call.Instance?.WalkDownConversions();
        if (receiver is IConditionalAccessInstanceOperation)
        {
            for (var parent = call.Parent; parent is not null; parent = parent.Parent)
            {
                if (parent is IConditionalAccessOperation access)
                {
                    receiver = access.Operation.WalkDownConversions();
                    break;
                }
            }
        }
        return receiver switch
        {
            IPropertyReferenceOperation { Property.Name: "grad" } => true,
            IInvocationOperation { TargetMethod.Name: "grad" } => true,
            _ => false,
        };
    }

    /// <summary>
    /// A method named *clip* that is neither TorchSharp's nor BatchGuard's: a helper the user wrote (it may live in
    /// another project of theirs, so it is not required to be in source). TorchSharp's own <c>clip</c>/<c>clamp</c>
    /// family bounds tensor values, not gradients, and the runtime's API is recognised by symbol above.
    /// </summary>
    private bool IsOwnClippingHelper(IInvocationOperation call) =>
        call.TargetMethod.Name.IndexOf("clip", System.StringComparison.OrdinalIgnoreCase) >= 0 &&
        call.TargetMethod.ContainingAssembly?.Name is not ("TorchSharp" or "BatchGuard");
}
