using System;
using System.Linq;
using BatchGuard.Analyzers.BatchDegree;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

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
        foreach (var tree in compilation.SyntaxTrees)
        {
            var positions = marks.Find(tree, method.Name);
            if (positions.Length == 0) continue;
            var root = tree.GetRoot();
            foreach (var position in positions)
            {
                var token = root.FindToken(position);
                if (token.Parent is not Microsoft.CodeAnalysis.CSharp.Syntax.MethodDeclarationSyntax declaration || declaration.Identifier != token) continue;
                if (!HelperClippingWords.Any(word => marks.Mentions(tree, word, declaration.Span))) continue;
#pragma warning disable RS1030 // The override lives in another member, possibly another file: no context offers its model.
                if (compilation.GetSemanticModel(tree).GetDeclaredSymbol(declaration) is IMethodSymbol implementation && Implements(implementation, method)) return true;
#pragma warning restore RS1030
            }
        }
        return false;
    }

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
            foreach (var word in HelperClippingWords)
            {
                if (marks.Mentions(tree, word, reference.Span)) return true;
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
