using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.Optimization;

/// <summary>
/// BG0006: gradient clipping that runs where it cannot affect the update (after step(), or before backward()).
/// BG0007: a training loop driving a stateful optimizer (momentum SGD, Adam, ...) with no gradient clipping at all.
/// </summary>
/// <remarks>
/// Clipping is TorchSharp's <c>clip_grad_norm_</c> / <c>clip_grad_value_</c> and, when the compilation references the
/// BatchGuard runtime, <c>TrainingGuard.AfterBackward</c> (bound by symbol). <c>TrainingGuard.Step</c> runs backward,
/// clip and step itself, in order, so it is never misplaced and a loop that uses it has clipping.
/// <para>
/// Cost: analyzers run on every build, and most code has no training loop. The entry point is an operation action on
/// loops (far fewer than calls); a loop whose text does not contain "backward" stops there (<see cref="SourceMarks"/>);
/// only the outermost loop of each body does work, one walk over its operations that compares call names. Binding checks, the enclosing-loop search and the optimizer's assignments run only for calls
/// named step, clip_grad_* or AfterBackward in a loop that also calls something named backward and step. Training
/// steps written as methods, local functions or lambdas come from a second action on those bodies, which stops at a
/// text test unless the body says "backward" outside its loops.
/// </para>
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GradientClippingAnalyzer : TorchSharpAnalyzer
{
    /// <summary>Diagnostic property (BG0006): source position of the step() the clipping call belongs before.</summary>
    public const string TargetStepPositionProperty = "TargetStepPosition";
    /// <summary>Diagnostic property (BG0007): the expression the optimizer was given its parameters from.</summary>
    public const string ParametersSourceProperty = "ParametersSource";
    /// <summary>The .editorconfig option naming extra optimizer types that carry state (BG0007).</summary>
    public const string ExtraOptimizerTypesOption = "extra_optimizer_types";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        Descriptors.BG0006_MisplacedGradientClipping, Descriptors.BG0007_StatefulOptimizerWithoutClipping);

    private protected override void OnCompilationStart(CompilationStartAnalysisContext context, TorchSharpSymbols symbols)
    {
        var clipping = new ClippingCalls(symbols, BatchGuardSymbols.TryCreate(context.Compilation));
        var marks = SourceMarks.For(context.Compilation);
        context.RegisterOperationAction(operation => Guarded(() => AnalyzeOutermostLoop(operation, symbols, clipping, marks)), OperationKind.Loop);
        context.RegisterOperationAction(operation => Guarded(() => AnalyzeTrainingStep(operation, symbols, clipping, marks)),
            OperationKind.MethodBody, OperationKind.LocalFunction, OperationKind.AnonymousFunction);
    }

    /// <summary>
    /// A training step written as a method, local function or lambda (<c>float TrainBatch(...) { ...; loss.backward();
    /// opt.step(); ... }</c>, called from the epoch loop): its body calls backward() and step() outside any loop of its
    /// own, and its callers repeat it once per batch, so its clipping is judged as a training loop's. Most bodies never
    /// say "backward" outside a loop or a nested function, and cost a text test.
    /// </summary>
    private static void AnalyzeTrainingStep(OperationAnalysisContext context, TorchSharpSymbols symbols, ClippingCalls clipping, SourceMarks marks)
    {
        var body = context.Operation switch
        {
            IMethodBodyOperation method => (IOperation?)method.BlockBody ?? method.ExpressionBody,
            ILocalFunctionOperation function => (IOperation?)function.Body ?? function.IgnoredBody,
            IAnonymousFunctionOperation lambda => lambda.Body,
            _ => null,
        };
        if (body is null || !SaysBackwardOutsideLoops(body.Syntax, marks)) return;

        // Loops that mention backward() are training loops (or nothing this rule judges): analysed from the loop.
        var tree = body.Syntax.SyntaxTree;
        var calls = TrainingLoopFinder.InvocationsInStep(body, loop => marks.Mentions(tree, SourceMarks.Backward, loop.Syntax.Span));
        var step = TrainingLoop.Step(body, calls, symbols);
        // A body that creates the optimizer it steps (a one-off update in a script or a test) is no step its callers
        // repeat: the optimizer must outlive the body, as a field, a parameter or a captured local.
        if (step.Backwards.IsEmpty || !step.Steps.Any(s => OptimizerOutlives(s, body))) return;
        foreach (var call in calls)
        {
            if (clipping.IsClippingCall(call)) ReportMisplacedClipping(context.ReportDiagnostic, step, call, clipping);
            else if (step.Steps.Contains(call) && OptimizerOutlives(call, body) && !clipping.HasAnyClipping(step, marks))
                ReportStatefulOptimizerWithoutClipping(context, call);
        }
    }

    /// <summary>Whether the optimizer a step() is called on lives longer than <paramref name="body"/>.</summary>
    private static bool OptimizerOutlives(IInvocationOperation step, IOperation body) => step.Instance?.WalkDownConversions() switch
    {
        IFieldReferenceOperation or IPropertyReferenceOperation or IParameterReferenceOperation => true,
        ILocalReferenceOperation local => !local.Local.DeclaringSyntaxReferences.Any(r => r.SyntaxTree == body.Syntax.SyntaxTree && body.Syntax.Span.Contains(r.Span)),
        _ => false,
    };

    /// <summary>
    /// Whether the body's text says "backward" somewhere that is in no loop and no nested lambda or local function of
    /// the body (those run elsewhere, and are analysed as bodies of their own).
    /// </summary>
    private static bool SaysBackwardOutsideLoops(SyntaxNode body, SourceMarks marks)
    {
        var positions = marks.Find(body.SyntaxTree, SourceMarks.Backward);
        var span = body.Span;
        var i = System.Array.BinarySearch(positions, span.Start);
        for (i = i < 0 ? ~i : i; i < positions.Length && positions[i] < span.End; i++)
        {
            var free = true;
            for (var node = body.FindToken(positions[i]).Parent; node is not null && node != body; node = node.Parent)
            {
                if (node is CommonForEachStatementSyntax or ForStatementSyntax or WhileStatementSyntax or DoStatementSyntax or
                    AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)
                {
                    free = false;
                    break;
                }
            }
            if (free) return true;
        }
        return false;
    }

    /// <summary>
    /// Every diagnostic sits on a call inside a training loop, so the outermost loop of each body (a method, lambda or
    /// local function) is the unit of work: one walk collects its calls by name, and a loop whose calls include no
    /// backward() or no step() cannot contain a training loop, so it costs nothing more.
    /// </summary>
    private static void AnalyzeOutermostLoop(OperationAnalysisContext context, TorchSharpSymbols symbols, ClippingCalls clipping, SourceMarks marks)
    {
        var outermost = (ILoopOperation)context.Operation;
        // A call to backward() is spelled "backward" in the loop's text (a method cannot be renamed by an alias), so a
        // loop whose text never says it is no training loop: most loops of a project cost this text test only.
        if (!marks.Mentions(outermost.Syntax.SyntaxTree, SourceMarks.Backward, outermost.Syntax.Span)) return;
        if (HasEnclosingLoop(outermost)) return;

        var candidates = new LoopCalls();
        candidates.Collect(outermost);
        if (!candidates.HasBackward || !candidates.HasStep || candidates.Subjects is null) return;

        var trainingLoops = new Dictionary<ILoopOperation, TrainingLoop?>();
        foreach (var invocation in candidates.Subjects) AnalyzeInvocation(context, invocation, symbols, clipping, marks, trainingLoops);
    }

    /// <summary>True when a loop encloses <paramref name="loop"/> in the same body (not across a lambda or local function).</summary>
    private static bool HasEnclosingLoop(ILoopOperation loop)
    {
        for (var current = loop.Parent; current is not null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) return false;
            if (current is ILoopOperation) return true;
        }
        return false;
    }

    /// <summary>
    /// The calls under an outermost loop (not inside nested lambdas or local functions, which are analysed with their
    /// own loops), filtered by name only: the binding checks run on the few that pass.
    /// </summary>
    private sealed class LoopCalls
    {
        /// <summary>Calls that may carry a diagnostic (clipping calls and step()), in walk order; null when none.</summary>
        public List<IInvocationOperation>? Subjects { get; private set; }
        public bool HasBackward { get; private set; }
        public bool HasStep { get; private set; }

        public void Collect(IOperation operation)
        {
            if (operation is IAnonymousFunctionOperation or ILocalFunctionOperation) return;
            if (operation is IInvocationOperation invocation)
            {
                switch (invocation.TargetMethod.Name)
                {
                    case "backward":
                        HasBackward = true;
                        break;
                    case "step":
                        HasStep = true;
                        (Subjects ??= new List<IInvocationOperation>()).Add(invocation);
                        break;
                    case "clip_grad_norm_" or "clip_grad_value_" or "AfterBackward":
                        (Subjects ??= new List<IInvocationOperation>()).Add(invocation);
                        break;
                }
            }
            foreach (var child in operation.ChildOperations) Collect(child);
        }
    }

    private static void AnalyzeInvocation(OperationAnalysisContext context, IInvocationOperation invocation, TorchSharpSymbols symbols,
        ClippingCalls clipping, SourceMarks marks, Dictionary<ILoopOperation, TrainingLoop?> trainingLoops)
    {
        // Each diagnostic is reported from the node it sits on: BG0006 from the clip call, BG0007 from the step.
        if (clipping.IsClippingCall(invocation))
        {
            if (EnclosingTrainingLoop(invocation, symbols, trainingLoops) is { } loop) ReportMisplacedClipping(context.ReportDiagnostic, loop, invocation, clipping);
        }
        else if (symbols.IsOptimizerStep(invocation))
        {
            if (EnclosingTrainingLoop(invocation, symbols, trainingLoops) is { } loop && !clipping.HasAnyClipping(loop, marks))
                ReportStatefulOptimizerWithoutClipping(context, invocation);
        }
    }

    /// <summary>
    /// The innermost loop around <paramref name="call"/> (in the same body, not across a lambda) that calls
    /// backward() and step(): the loop <see cref="TrainingLoopFinder"/> would find.
    /// </summary>
    /// <param name="trainingLoops">Loops already classified under the same outermost loop (null: not a training loop).</param>
    private static TrainingLoop? EnclosingTrainingLoop(IInvocationOperation call, TorchSharpSymbols symbols,
        Dictionary<ILoopOperation, TrainingLoop?> trainingLoops)
    {
        for (var current = call.Parent; current is not null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) return null;
            if (current is not ILoopOperation loopOperation) continue;
            if (!trainingLoops.TryGetValue(loopOperation, out var loop))
            {
                loop = new TrainingLoop(loopOperation, TrainingLoopFinder.InvocationsInBody(loopOperation), symbols);
                if (loop.Backwards.IsEmpty || loop.Steps.IsEmpty) loop = null;
                trainingLoops.Add(loopOperation, loop);
            }
            if (loop is not null) return loop;
        }
        return null;
    }

    // ---- BG0006 ----

    private enum Event { Backward, Step, Clip }

    /// <summary>
    /// One backward/step/clip call of a training loop. A class, not a value tuple: every generic instantiation over a
    /// value type is JIT-compiled separately in each cold compiler process, which showed in the build-time cost.
    /// </summary>
    private sealed class LoopEvent(IInvocationOperation call, Event kind)
    {
        public IInvocationOperation Call { get; } = call;
        public Event Kind { get; } = kind;
    }

    private static void ReportMisplacedClipping(System.Action<Diagnostic> report, TrainingLoop loop, IInvocationOperation clipCall,
        ClippingCalls clipping)
    {
        // The loop body's backward/step/clip calls in source order; the loop repeats, so the sequence is cyclic.
        var events = new List<LoopEvent>();
        foreach (var call in loop.Calls)
        {
            if (loop.Backwards.Contains(call)) events.Add(new LoopEvent(call, Event.Backward));
            else if (loop.Steps.Contains(call)) events.Add(new LoopEvent(call, Event.Step));
            else if (clipping.IsClippingCall(call)) events.Add(new LoopEvent(call, Event.Clip));
        }

        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].Kind != Event.Clip || !ReferenceEquals(events[i].Call.Syntax, clipCall.Syntax)) continue;
            var clip = events[i].Call;
            var previous = Neighbour(events, i, -1);
            var next = Neighbour(events, i, +1);
            if (previous is null || next is null) continue;

            // Effective: fresh gradients (a backward before it) that the next step consumes (no backward in between).
            // Only "step before, backward after" is certainly wrong; other orders (two losses, a step at the top of
            // the iteration for accumulated gradients) are left alone.
            if (previous.Kind != Event.Step || next.Kind != Event.Backward) continue;

            IInvocationOperation? stepBefore = null;
            for (var k = 0; k < i; k++) if (events[k].Kind == Event.Step) stepBefore = events[k].Call;
            // Wrong for certain only when a backward() that runs whenever the clipping runs replaces the clipped
            // gradients before the next step() consumes them: a backward() under an if (an extra term some batches
            // add) may leave them to the step, which the clipping then does affect.
            IInvocationOperation? overwrite = null;
            var overwriteInIteration = false;
            for (var k = 1; k < events.Count; k++)
            {
                var index = (i + k) % events.Count;
                // A step() that runs whenever the clipping runs consumes the clipped gradients (one under an if, another
                // optimizer's every fifth batch, may not).
                if (events[index].Kind == Event.Step && RunsWhenever(events[index].Call, clip, loop.Scope)) break;
                if (events[index].Kind != Event.Backward || !RunsWhenever(events[index].Call, clip, loop.Scope)) continue;
                overwrite = events[index].Call;
                overwriteInIteration = index > i;
                break;
            }
            if (overwrite is null) continue;
            string where;
            IInvocationOperation certain;
            // A backward() later in the same iteration is what the clipping comes too early for (an actor-critic step
            // that clips the critic between the actor's step() and the critic's backward()): name it, not the other
            // optimizer's step(). When it is the next iteration's, the step() before the clipping is the cause.
            if (stepBefore is not null && !overwriteInIteration)
            {
                where = "after " + stepBefore.Syntax;
                certain = stepBefore;
            }
            else
            {
                where = "before " + overwrite.Syntax;
                certain = overwrite;
            }
            // The call that makes it wrong must run whenever the clipping runs (not in another branch or inner loop).
            if (!RunsWhenever(certain, clip, loop.Scope)) continue;
            // In an inner loop that also steps or runs backward(), the calls repeat within the iteration: the clip of one
            // pass may prepare the step of the next (a clip and a step per parameter group), so the order is not certain.
            if (SharesInnerLoopWithAnUpdate(clip, loop.Scope, events)) continue;

            var target = TargetStep(events);
            var properties = target is null
                ? ImmutableDictionary<string, string?>.Empty
                : ImmutableDictionary<string, string?>.Empty.Add(TargetStepPositionProperty,
                    target.Syntax.SpanStart.ToString(System.Globalization.CultureInfo.InvariantCulture));
            report(Diagnostic.Create(Descriptors.BG0006_MisplacedGradientClipping, clip.Syntax.GetLocation(), properties,
                clip.TargetMethod.Name == "AfterBackward" ? "TrainingGuard.AfterBackward" : clip.TargetMethod.Name, where));
        }
    }

    private static LoopEvent? Neighbour(List<LoopEvent> events, int index, int direction)
    {
        for (var k = 1; k < events.Count; k++)
        {
            var e = events[((index + direction * k) % events.Count + events.Count) % events.Count];
            if (e.Kind != Event.Clip) return e;
        }
        return null;
    }

    /// <summary>Where clipping belongs: before the first step() that follows the iteration's last backward().</summary>
    private static IInvocationOperation? TargetStep(List<LoopEvent> events)
    {
        var lastBackward = -1;
        for (var i = 0; i < events.Count; i++) if (events[i].Kind == Event.Backward) lastBackward = i;
        for (var i = lastBackward + 1; i < events.Count; i++) if (events[i].Kind == Event.Step) return events[i].Call;
        return null;
    }

    /// <summary>
    /// True when <paramref name="certain"/> runs in every iteration in which <paramref name="reference"/> runs: each
    /// branching construct around it (up to the loop) leads to the reference by the same branch.
    /// </summary>
    private static bool RunsWhenever(IOperation certain, IOperation reference, IOperation loop)
    {
        for (IOperation child = certain, parent = certain.Parent!; parent is not null && !ReferenceEquals(parent, loop);
             child = parent, parent = parent.Parent!)
        {
            if (!IsBranching(parent, child)) continue;
            if (!IsOnPath(reference, child)) return false;
        }
        return true;
    }

    private static bool SharesInnerLoopWithAnUpdate(IOperation clip, IOperation trainingLoop, List<LoopEvent> events)
    {
        for (var current = clip.Parent; current is not null && !ReferenceEquals(current, trainingLoop); current = current.Parent)
        {
            if (current is not ILoopOperation inner) continue;
            foreach (var e in events)
            {
                if (e.Kind != Event.Clip && TrainingLoopFinder.IsInside(e.Call, inner)) return true;
            }
        }
        return false;
    }

    private static bool IsBranching(IOperation parent, IOperation child) => parent switch
    {
        IConditionalOperation conditional => !ReferenceEquals(conditional.Condition, child),
        ILoopOperation or ISwitchCaseOperation or ICatchClauseOperation or IConditionalAccessOperation
            or ICoalesceOperation or ISwitchExpressionArmOperation => true,
        IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr } binary =>
            ReferenceEquals(binary.RightOperand, child),
        _ => false,
    };

    private static bool IsOnPath(IOperation operation, IOperation ancestor)
    {
        for (var current = operation; current is not null; current = current.Parent)
        {
            if (ReferenceEquals(current, ancestor)) return true;
        }
        return false;
    }

    // ---- BG0007 ----

    private static void ReportStatefulOptimizerWithoutClipping(OperationAnalysisContext context, IInvocationOperation step)
    {
        var receiver = step.Instance?.WalkDownConversions();
        if (receiver is null) return;
        var extra = RuleOptions.GetList(context.Options, step.Syntax.SyntaxTree,
            RuleIds.StatefulOptimizerWithoutClipping, ExtraOptimizerTypesOption);

        var state = OptimizerState.ClassifyType(receiver.Type, extra);
        IOperation? creation = null;
        var assigned = OptimizerAssignments.Find(receiver, step.SemanticModel, context.CancellationToken);
        if (!assigned.IsDefaultOrEmpty)
        {
            // A subclass with a step() of its own (which may clip) among the values, not listed as stateful: nothing is certain.
            foreach (var value in assigned)
            {
                var type = value.WalkDownConversions().Type;
                if (OptimizerState.DefinesItsOwnStep(type) && !OptimizerState.ClassifyType(type, extra).IsStateful) return;
            }
            // Every value ever stored must agree; one unknown or stateless assignment means we cannot be sure.
            var first = OptimizerState.Classify(assigned[0], extra);
            var allStateful = first.IsStateful;
            for (var i = 1; i < assigned.Length && allStateful; i++) allStateful = OptimizerState.Classify(assigned[i], extra).IsStateful;
            if (!state.IsStateful && allStateful) state = first;
            if (assigned.Length == 1) creation = assigned[0].WalkDownConversions();
        }
        if (!state.IsStateful) return;

        var properties = ImmutableDictionary<string, string?>.Empty;
        // Another member's expression may name a different 'model' in scope at the step: only offer a same-body one.
        var parametersSource = creation is not null && ReferenceEquals(Root(creation), Root(step)) ? ParametersSource(creation) : null;
        if (parametersSource is not null) properties = properties.Add(ParametersSourceProperty, parametersSource);

        context.ReportDiagnostic(Diagnostic.Create(Descriptors.BG0007_StatefulOptimizerWithoutClipping,
            step.Syntax.GetLocation(), properties, receiver.Syntax.ToString(), state.Description));
    }

    private static IOperation Root(IOperation operation)
    {
        while (operation.Parent is not null) operation = operation.Parent;
        return operation;
    }

    /// <summary>
    /// The first argument of the optimizer's creation when it is a plain parameter list (<c>model.parameters()</c>),
    /// for the code fix to clip exactly those; the fixer checks that it binds at the step and otherwise falls back to
    /// <c>optimizer.parameters()</c>.
    /// </summary>
    private static string? ParametersSource(IOperation? creation)
    {
        var arguments = creation switch
        {
            IInvocationOperation invocation => invocation.Arguments,
            IObjectCreationOperation objectCreation => objectCreation.Arguments,
            _ => default,
        };
        if (arguments.IsDefaultOrEmpty) return null;
        var first = arguments.FirstOrDefault(a => a.Parameter?.Ordinal == 0);
        if (first is null || first.ArgumentKind == ArgumentKind.DefaultValue) return null;
        if (!OptimizerState.IsSequenceOf(first.Parameter?.Type, "Parameter")) return null;
        var value = first.Value.WalkDownConversions();
        var isPlain = value switch
        {
            IInvocationOperation { TargetMethod.Name: "parameters", Arguments.Length: <= 1 } call =>
                call.Instance is null or ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation
                    or IPropertyReferenceOperation or IInstanceReferenceOperation,
            ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation => true,
            _ => false,
        };
        return isPlain ? value.Syntax.ToString() : null;
    }
}
