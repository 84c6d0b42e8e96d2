using BatchGuard.Analyzers.CodeFixes.Optimization;
using BatchGuard.Analyzers.Optimization;
using BatchGuard.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.Optimization;

using VerifyClipping = Verify<GradientClippingAnalyzer>;
using VerifyAddClip = Verify<GradientClippingAnalyzer, AddGradientClippingCodeFix>;
using VerifyGuard = Verify<GradientClippingAnalyzer, UseTrainingGuardCodeFix>;

/// <summary>BG0007: a training loop with a stateful optimizer (momentum SGD, Adam, ...) and no gradient clipping.</summary>
public sealed class BG0007Tests
{
    private static string Loop(string optimizerCreation, string loopBody = "") => TestReferences.Usings + $$"""
        class Trainer
        {
            void Train()
            {
                var x = randn(64, 4);
                var y = randn(64, 1);
                var loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 16, shuffle: true, drop_last: true);
                var model = nn.Sequential(nn.Linear(4, 1));
                var optimizer = {{optimizerCreation}};
                foreach (var batch in loader)
                {
                    optimizer.zero_grad();
                    var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                    loss.backward();{{loopBody}}
                    {|#0:optimizer.step()|};
                }
            }
        }
        """;

    [Theory]
    [InlineData("optim.Adam(model.parameters())", "Adam")]
    [InlineData("optim.AdamW(model.parameters(), lr: 1e-3)", "AdamW")]
    [InlineData("optim.Adamax(model.parameters())", "Adamax")]
    [InlineData("optim.NAdam(model.parameters())", "NAdam")]
    [InlineData("optim.RAdam(model.parameters())", "RAdam")]
    [InlineData("optim.RMSProp(model.parameters())", "RMSProp")]
    [InlineData("optim.Adagrad(model.parameters())", "Adagrad")]
    [InlineData("optim.Adadelta(model.parameters())", "Adadelta")]
    [InlineData("optim.SGD(model.parameters(), 0.01, momentum: 0.9)", "SGD with momentum 0.9")]
    [InlineData("optim.SGD(model.parameters(), 0.01, 0.5)", "SGD with momentum 0.5")]
    [InlineData("optim.SGD(model.parameters(), 0.01, momentum: 0.9, nesterov: true)", "SGD with nesterov")]
    public async Task Stateful_optimizer_without_clipping_is_reported(string creation, string description)
    {
        await VerifyClipping.Diagnostics(Loop(creation),
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", description));
    }

    [Theory]
    [InlineData("optim.SGD(model.parameters(), 0.01)")]
    [InlineData("optim.SGD(model.parameters(), 0.01, momentum: 0.0)")]
    [InlineData("optim.Rprop(model.parameters())")]
    [InlineData("optim.ASGD(model.parameters())")]
    public async Task Optimizer_without_gradient_size_state_is_not_reported(string creation)
    {
        await VerifyClipping.Diagnostics(Loop(creation).Replace("{|#0:optimizer.step()|}", "optimizer.step()"));
    }

    [Fact]
    public async Task Sgd_with_momentum_that_is_not_a_visible_constant_is_not_reported()
    {
        var source = Loop("optim.SGD(model.parameters(), 0.01, momentum: Environment.ProcessorCount / 10.0)")
            .Replace("{|#0:optimizer.step()|}", "optimizer.step()");
        await VerifyClipping.Diagnostics(source);
    }

    [Fact]
    public async Task Loop_that_clips_the_gradients_is_not_reported()
    {
        var source = Loop("optim.Adam(model.parameters())", "\n            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);")
            .Replace("{|#0:optimizer.step()|}", "optimizer.step()");
        await VerifyClipping.Diagnostics(source);
    }

    [Fact]
    public async Task Misplaced_clipping_is_left_to_BG0006()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        model.forward(x).mean().backward();
                        optimizer.step();
                        {|BG0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Loop_that_calls_its_own_clipping_helper_is_not_reported()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                void ClipGradients(nn.Module<Tensor, Tensor> model) { foreach (var p in model.parameters()) p.grad?.clamp_(-1, 1); }

                void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        model.forward(x).mean().backward();
                        ClipGradients(model);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Theory]
    [InlineData("void BoundGradients() => torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);", "BoundGradients();")]
    [InlineData("Action bound = () => torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);", "bound();")]
    [InlineData("", "Timed(() => torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0));")]
    [InlineData("", "foreach (var p in model.parameters()) p.grad?.clamp_(-1, 1);")]
    public async Task Clipping_through_the_methods_own_lambdas_and_local_functions_or_by_hand_is_not_reported(string declaration, string call)
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + $$"""
            class Trainer
            {
                static void Timed(Action action) => action();

                void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    var optimizer = optim.Adam(model.parameters());
                    {{declaration}}
                    for (var i = 0; i < 10; i++)
                    {
                        model.forward(x).mean().backward();
                        {{call}}
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_lambda_that_is_never_called_in_the_loop_does_not_count_as_clipping()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    var optimizer = optim.Adam(model.parameters());
                    Action bound = () => torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                    for (var i = 0; i < 10; i++)
                    {
                        model.forward(x).mean().backward();
                        {|#0:optimizer.step()|};
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "Adam"));
    }

    [Fact]
    public async Task A_subclass_with_its_own_step_is_not_classified()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class ClippedAdam : Adam
            {
                public ClippedAdam(IEnumerable<Parameter> parameters) : base(parameters) { }
                public override Tensor step(Func<Tensor>? closure = null) => base.step(closure);
            }

            class Trainer
            {
                private readonly optim.Optimizer _optimizer;
                public Trainer(nn.Module<Tensor, Tensor> model) => _optimizer = new ClippedAdam(model.parameters());

                void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    var optimizer = new ClippedAdam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        model.forward(x).mean().backward();
                        optimizer.step();
                        _optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Optimizer_written_where_its_value_cannot_be_seen_is_not_reported()
    {
        // Replaced through an out argument or a deconstruction, or set from outside through an init accessor, or a
        // property a subclass may override: the Adam the analyzer can see is not certainly the one that steps.
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                private optim.Optimizer _field = optim.Adam(Array.Empty<Parameter>());
                public optim.Optimizer Initialised { get; init; } = optim.Adam(Array.Empty<Parameter>());
                protected virtual optim.Optimizer Overridable => optim.Adam(Array.Empty<Parameter>());

                static void MakeSgd(nn.Module<Tensor, Tensor> model, out optim.Optimizer optimizer) => optimizer = optim.SGD(model.parameters(), 0.1);
                static (int, optim.Optimizer) Build(nn.Module<Tensor, Tensor> model) => (0, optim.SGD(model.parameters(), 0.1));

                void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    optim.Optimizer byOut = optim.Adam(model.parameters());
                    MakeSgd(model, out byOut);
                    MakeSgd(model, out var declaredByOut);
                    if (x is null) declaredByOut = optim.Adam(model.parameters());
                    optim.Optimizer deconstructed = optim.Adam(model.parameters());
                    int version;
                    (version, deconstructed) = Build(model);
                    MakeSgd(model, out _field);
                    for (var i = 0; i < 10; i++)
                    {
                        model.forward(x).mean().backward();
                        byOut.step();
                        declaredByOut.step();
                        deconstructed.step();
                        _field.step();
                        Initialised.step();
                        Overridable.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Optimizer_field_created_in_the_constructor_is_recognised()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                private readonly nn.Module<Tensor, Tensor> _model = nn.Linear(4, 1);
                private readonly optim.Optimizer _optimizer;

                public Trainer() => _optimizer = optim.SGD(_model.parameters(), 0.1, momentum: 0.9);

                public void Train(IEnumerable<Tensor> batches)
                {
                    foreach (var batch in batches)
                    {
                        _model.forward(batch).mean().backward();
                        {|#0:_optimizer.step()|};
                        _optimizer.zero_grad();
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("_optimizer", "SGD with momentum 0.9"));
    }

    /// <summary>A trainer whose optimizer field is declared and assigned by <paramref name="fieldAndAssignments"/>.</summary>
    // A trainer base class with a hook its subclasses fill in, and a list of callbacks: clipping in an override or an
    // implementation in the compilation counts; a hook nobody clips in does not.
    private static string HookedTrainer(string overrideBody, string step) => TestReferences.Usings + $$"""
        interface ITrainingCallback { void OnGradients(nn.Module<Tensor, Tensor> model); }

        class Logging : ITrainingCallback { public void OnGradients(nn.Module<Tensor, Tensor> model) => Console.WriteLine("gradients ready"); }

        abstract class TrainerBase
        {
            protected readonly nn.Module<Tensor, Tensor> Model = nn.Linear(4, 1);
            private readonly optim.Optimizer _optimizer;
            private readonly List<ITrainingCallback> _callbacks = new();

            protected TrainerBase() => _optimizer = optim.Adam(Model.parameters());

            public void Add(ITrainingCallback callback) => _callbacks.Add(callback);

            protected virtual void BeforeStep() { }

            public void Fit(IEnumerable<Tensor> batches)
            {
                foreach (var batch in batches)
                {
                    _optimizer.zero_grad();
                    Model.forward(batch).mean().backward();
                    BeforeStep();
                    foreach (var callback in _callbacks) callback.OnGradients(Model);
                    {{step}};
                }
            }
        }

        {{overrideBody}}
        """;

    [Theory]
    [InlineData("class Clipped : TrainerBase { protected override void BeforeStep() => torch.nn.utils.clip_grad_norm_(Model.parameters(), 1.0); }")]
    [InlineData("class GradClip : ITrainingCallback { public void OnGradients(nn.Module<Tensor, Tensor> model) => torch.nn.utils.clip_grad_value_(model.parameters(), 0.5); }")]
    [InlineData("class GradClip : ITrainingCallback { void ITrainingCallback.OnGradients(nn.Module<Tensor, Tensor> model) { torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); } }")]
    [InlineData("class Clipped : TrainerBase { protected override void BeforeStep() => GradUtils.ClipGradients(Model); }\n" +
                "static class GradUtils { public static void ClipGradients(nn.Module<Tensor, Tensor> m) { foreach (var p in m.parameters()) p.grad?.clamp_(-1, 1); } }")]
    public async Task Clipping_in_an_override_or_a_callback_the_loop_calls_counts(string overrideBody)
    {
        await VerifyClipping.Diagnostics(HookedTrainer(overrideBody, "_optimizer.step()"));
    }

    [Theory]
    [InlineData("class Logged : TrainerBase { protected override void BeforeStep() => Console.WriteLine(\"clip_norm is off\"); }")]
    // Only a clipping call counts: a comment or a log message that names one does not.
    [InlineData("class Logged : TrainerBase { protected override void BeforeStep() => Console.WriteLine(\"clip_grad_norm_ is disabled\"); }")]
    [InlineData("class Off : TrainerBase { protected override void BeforeStep() { /* torch.nn.utils.clip_grad_norm_(Model.parameters(), 1.0); */ } }")]
    public async Task Hooks_and_callbacks_that_do_not_clip_leave_the_loop_reported(string overrideBody)
    {
        await VerifyClipping.Diagnostics(HookedTrainer(overrideBody, "{|#0:_optimizer.step()|}"),
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("_optimizer", "Adam"));
    }

    [Fact]
    public async Task A_hook_named_after_backward_that_only_logs_is_no_clipping()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            interface ITrainingCallback { void OnAfterBackward(); }
            class Logging : ITrainingCallback { public void OnAfterBackward() => Console.WriteLine("gradients ready"); }

            class Trainer
            {
                private readonly nn.Module<Tensor, Tensor> _model = nn.Linear(4, 1);
                private readonly optim.Optimizer _optimizer;
                private readonly List<ITrainingCallback> _callbacks = new() { new Logging() };

                public Trainer() => _optimizer = optim.Adam(_model.parameters());

                public void Fit(IEnumerable<Tensor> batches)
                {
                    foreach (var batch in batches)
                    {
                        _model.forward(batch).mean().backward();
                        foreach (var callback in _callbacks) callback.OnAfterBackward();
                        {|#0:_optimizer.step()|};
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("_optimizer", "Adam"));
    }

    private static string OptimizerFieldTrainer(string fieldAndAssignments, string step = "{|#0:_optimizer.step()|}") =>
        TestReferences.Usings + $$"""
        class Trainer
        {
            private readonly nn.Module<Tensor, Tensor> _model = nn.Linear(4, 1);
            {{fieldAndAssignments}}

            public void Train(IEnumerable<Tensor> batches)
            {
                foreach (var batch in batches)
                {
                    _model.forward(batch).mean().backward();
                    {{step}};
                }
            }
        }
        """;

    [Fact]
    public async Task Optimizer_field_assigned_through_this_after_mentions_of_its_name_is_recognised()
    {
        await VerifyClipping.Diagnostics(OptimizerFieldTrainer("""
            // _optimizer is created in the constructor.
            private optim.Optimizer _optimizer;

            public Trainer()
            {
                Console.WriteLine("creating _optimizer");
                this._optimizer = optim.Adam(_model.parameters());
            }
            """),
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("_optimizer", "Adam"));
    }

    [Fact]
    public async Task Optimizer_field_assigned_under_a_unicode_escaped_name_is_recognised()
    {
        await VerifyClipping.Diagnostics(OptimizerFieldTrainer("""
            private readonly optim.Optimizer _optimizer;

            public Trainer() => \u005Foptimizer = optim.Adam(_model.parameters());
            """),
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("_optimizer", "Adam"));
    }

    [Fact]
    public async Task Optimizer_field_reassigned_to_a_stateless_optimizer_elsewhere_in_the_type_is_not_reported()
    {
        await VerifyClipping.Diagnostics(OptimizerFieldTrainer("""
            private optim.Optimizer _optimizer;

            public Trainer() => _optimizer = optim.Adam(_model.parameters());

            public void UsePlainSgd() => this._optimizer = optim.SGD(_model.parameters(), 0.1);
            """, step: "_optimizer.step()"));
    }

    [Fact]
    public async Task Step_in_an_inner_loop_or_in_the_for_loop_increment_is_reported()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                public void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var epoch = 0; epoch < 3; epoch++)
                    {
                        model.forward(x).mean().backward();
                        for (var k = 0; k < 1; k++) {|#0:optimizer.step()|};
                    }
                    for (var i = 0; i < 10; {|#1:optimizer.step()|})
                    {
                        model.forward(x).mean().backward();
                        i++;
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "Adam"),
            VerifyClipping.Diagnostic("BG0007").WithLocation(1).WithArguments("optimizer", "Adam"));
    }

    [Fact]
    public async Task Optimizer_received_as_a_base_type_parameter_is_not_reported()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                public void Train(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, Tensor x)
                {
                    while (true)
                    {
                        model.forward(x).mean().backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    // The most common shape in public TorchSharp examples: the epoch loop creates Adam and passes it to a private
    // Train method typed with the base class.
    private static string PassedToPrivateTrain(string run, string trainModifiers = "private static") => TestReferences.Usings + $$"""
        class Example
        {
            {{run}}

            {{trainModifiers}} void Train(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, Tensor x, int epoch)
            {
                for (var i = 0; i < 10; i++)
                {
                    model.forward(x).mean().backward();
                    {|#0:optimizer.step()|};
                }
            }
        }
        """;

    [Fact]
    public async Task Optimizer_passed_to_a_private_training_method_is_classified_by_what_its_callers_pass()
    {
        await VerifyClipping.Diagnostics(PassedToPrivateTrain("""
            internal static void Run(nn.Module<Tensor, Tensor> model, Tensor x)
            {
                var optimizer = optim.Adam(model.parameters());
                for (var epoch = 1; epoch <= 3; epoch++) Train(model, optimizer, x, epoch);
                Example.Train(model, optim.AdamW(model.parameters()), x, 0);
            }
            """),
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "Adam"));
    }

    // MicroOCR-style: the optimizer comes from a factory of the user's typed with the base class.
    [Theory]
    [InlineData("static optim.Optimizer Make(nn.Module<Tensor, Tensor> model) => optim.AdamW(model.parameters());")]
    [InlineData("""
        static optim.Optimizer Make(nn.Module<Tensor, Tensor> model)
        {
            var made = optim.AdamW(model.parameters(), 0.001);
            Func<optim.Optimizer> other = () => { return optim.SGD(model.parameters(), 0.1); };
            return made;
        }
        """)]
    public async Task Optimizer_from_a_factory_of_the_users_is_classified_by_what_it_returns(string factory)
    {
        await VerifyClipping.Diagnostics(PassedToPrivateTrain($$"""
            {{factory}}

            internal static void Run(nn.Module<Tensor, Tensor> model, Tensor x)
            {
                var optimizer = Make(model);
                Train(model, optimizer, x, 0);
            }
            """),
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "AdamW"));
    }

    [Fact]
    public async Task Fix_for_an_optimizer_parameter_clips_the_optimizers_own_parameters()
    {
        const string run = """
            internal static void Run(nn.Module<Tensor, Tensor> model, Tensor x) => Train(model, optim.Adam(model.parameters()), x, 0);
            """;
        await VerifyAddClip.Fix(PassedToPrivateTrain(run).Replace("{|#0:optimizer.step()|}", "{|BG0007:optimizer.step()|}"),
            PassedToPrivateTrain(run).Replace("{|#0:optimizer.step()|};", "torch.nn.utils.clip_grad_norm_(optimizer.parameters(), 1.0);\n            optimizer.step();"),
            AddGradientClippingCodeFix.EquivalenceKey);
    }

    [Theory]
    [InlineData("Train(model, optim.SGD(model.parameters(), 0.01), x, 1);")]
    [InlineData("Train(model, optimizer: MakePlain(model), x: x, epoch: 1);")]
    [InlineData("Train(model, optimizer: MakeEither(model, true), x: x, epoch: 1);")]
    [InlineData("Action<nn.Module<Tensor, Tensor>, optim.Optimizer, Tensor, int> run = Train;")]
    public async Task Optimizer_passed_to_a_private_training_method_is_not_reported_unless_every_caller_passes_a_stateful_one(string otherUse)
    {
        await VerifyClipping.Diagnostics(PassedToPrivateTrain($$"""
            static optim.Optimizer MakePlain(nn.Module<Tensor, Tensor> model) => optim.SGD(model.parameters(), 0.01);
            static optim.Optimizer MakeEither(nn.Module<Tensor, Tensor> model, bool adam)
            {
                if (adam) return optim.Adam(model.parameters());
                return optim.SGD(model.parameters(), 0.01);
            }

            internal static void Run(nn.Module<Tensor, Tensor> model, Tensor x)
            {
                var optimizer = optim.Adam(model.parameters());
                Train(model, optimizer, x, 0);
                {{otherUse}}
            }
            """).Replace("{|#0:optimizer.step()|}", "optimizer.step()"));
    }

    [Theory]
    [InlineData("optimizer = optim.SGD(model.parameters(), 0.01);", "")]
    [InlineData("Replace(ref optimizer, model);", "")]
    [InlineData("", "@Train(model, optim.SGD(model.parameters(), 0.01), x, 1);")]
    public async Task Optimizer_parameter_rewritten_in_its_method_or_given_another_optimizer_by_a_verbatim_call_is_not_reported(string prologue, string otherCall)
    {
        var source = PassedToPrivateTrain($$"""
            static void Replace(ref optim.Optimizer o, nn.Module<Tensor, Tensor> m) { o = optim.SGD(m.parameters(), 0.01); }

            internal static void Run(nn.Module<Tensor, Tensor> model, Tensor x)
            {
                Train(model, optim.Adam(model.parameters()), x, 0);
                {{otherCall}}
            }
            """).Replace("{|#0:optimizer.step()|}", "optimizer.step()").Replace("for (var i = 0; i < 10; i++)", prologue + "\n        for (var i = 0; i < 10; i++)");
        await VerifyClipping.Diagnostics(source);
    }

    [Fact]
    public async Task Optimizer_passed_to_a_public_training_method_is_not_classified()
    {
        // Other assemblies may call it with anything.
        await VerifyClipping.Diagnostics(PassedToPrivateTrain("""
            internal static void Run(nn.Module<Tensor, Tensor> model, Tensor x) => Train(model, optim.Adam(model.parameters()), x, 0);
            """, trainModifiers: "public static").Replace("{|#0:optimizer.step()|}", "optimizer.step()"));
    }

    [Fact]
    public async Task Optimizer_parameter_typed_as_adam_is_reported()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                public void Train(nn.Module<Tensor, Tensor> model, Adam adam, Tensor x)
                {
                    for (var step = 0; step < 100; step++)
                    {
                        model.forward(x).mean().backward();
                        {|#0:adam.step()|};
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("adam", "Adam"));
    }

    [Fact]
    public async Task Optimizer_reassigned_with_different_kinds_is_not_reported()
    {
        var source = Loop("optim.Adam(model.parameters())").Replace("{|#0:optimizer.step()|}", "optimizer.step()")
            .Replace("foreach (var batch in loader)", "optim.Optimizer opt2 = optimizer; opt2 = optim.SGD(model.parameters(), 0.1);\n        foreach (var batch in loader)")
            .Replace("optimizer.step()", "opt2.step()");
        await VerifyClipping.Diagnostics(source);
    }

    [Fact]
    public async Task Extra_optimizer_types_from_editorconfig_are_treated_as_stateful()
    {
        var source = TestReferences.Usings + """
            class Lion : optim.Optimizer
            {
                public Lion(IEnumerable<Parameter> p) : base(IntPtr.Zero) { }
                public override Tensor step(Func<Tensor>? closure = null) => throw new NotImplementedException();
            }
            class Trainer
            {
                public void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    var lion = new Lion(model.parameters());
                    for (var step = 0; step < 100; step++)
                    {
                        model.forward(x).mean().backward();
                        {|#0:lion.step()|};
                    }
                }
            }
            """;
        await VerifyClipping.Diagnostics(source.Replace("{|#0:lion.step()|}", "lion.step()"));
        await VerifyClipping.Diagnostics(source, "dotnet_diagnostic.BG0007.extra_optimizer_types = Lion, MyCompany.Sophia\n",
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("lion", "Lion"));
    }

    [Fact]
    public async Task Top_level_training_loop_is_analysed()
    {
        var test = new VerifyClipping.Test
        {
            TestCode = TestReferences.Usings + """
                var model = nn.Linear(4, 1);
                var optimizer = optim.AdamW(model.parameters());
                for (var i = 0; i < 10; i++)
                {
                    model.forward(randn(8, 4)).mean().backward();
                    {|#0:optimizer.step()|};
                }
                """,
        };
        test.TestState.OutputKind = Microsoft.CodeAnalysis.OutputKind.ConsoleApplication;
        test.ExpectedDiagnostics.Add(VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "AdamW"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Fix_inserts_clip_grad_norm_of_the_optimizer_parameters_before_step()
    {
        await VerifyAddClip.Fix(
            Loop("optim.Adam(model.parameters())").Replace("{|#0:optimizer.step()|}", "{|BG0007:optimizer.step()|}"),
            Loop("optim.Adam(model.parameters())", "\n            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);")
                .Replace("{|#0:optimizer.step()|}", "optimizer.step()"),
            AddGradientClippingCodeFix.EquivalenceKey);
    }

    [Fact]
    public async Task Fix_falls_back_to_the_optimizer_parameters_and_qualifies_torch_when_needed()
    {
        const string before = """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            class Trainer
            {
                private Adam? _adam;

                public void Init(nn.Module<Tensor, Tensor> model) => _adam = optim.Adam(model.parameters());

                public void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    for (var step = 0; step < 100; step++)
                    {
                        model.forward(x).mean().backward();
                        // apply the update
                        {|BG0007:_adam!.step()|};
                    }
                }
            }
            """;
        const string after = """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            class Trainer
            {
                private Adam? _adam;

                public void Init(nn.Module<Tensor, Tensor> model) => _adam = optim.Adam(model.parameters());

                public void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    for (var step = 0; step < 100; step++)
                    {
                        model.forward(x).mean().backward();
                        TorchSharp.torch.nn.utils.clip_grad_norm_(_adam!.parameters(), 1.0);
                        // apply the update
                        _adam!.step();
                    }
                }
            }
            """;
        await VerifyAddClip.Fix(before, after, AddGradientClippingCodeFix.EquivalenceKey);
    }

    [Fact]
    public async Task Fix_all_clips_every_loop_in_the_document()
    {
        const string before = """
            using TorchSharp;
            using static TorchSharp.torch;

            class Trainer
            {
                public void Train(nn.Module<Tensor, Tensor> g, nn.Module<Tensor, Tensor> d, Tensor x)
                {
                    var optG = optim.Adam(g.parameters());
                    var optD = optim.SGD(d.parameters(), 0.01, momentum: 0.9);
                    for (var step = 0; step < 100; step++)
                    {
                        d.forward(x).mean().backward();
                        {|BG0007:optD.step()|};
                        g.forward(x).mean().backward();
                        {|BG0007:optG.step()|};
                    }
                }
            }
            """;
        const string after = """
            using TorchSharp;
            using static TorchSharp.torch;

            class Trainer
            {
                public void Train(nn.Module<Tensor, Tensor> g, nn.Module<Tensor, Tensor> d, Tensor x)
                {
                    var optG = optim.Adam(g.parameters());
                    var optD = optim.SGD(d.parameters(), 0.01, momentum: 0.9);
                    for (var step = 0; step < 100; step++)
                    {
                        d.forward(x).mean().backward();
                        torch.nn.utils.clip_grad_norm_(d.parameters(), 1.0);
                        optD.step();
                        g.forward(x).mean().backward();
                        torch.nn.utils.clip_grad_norm_(g.parameters(), 1.0);
                        optG.step();
                    }
                }
            }
            """;
        // One fix at a time: once the loop clips, the other step is no longer reported.
        var afterOneFix = string.Join("\n", after.Split('\n').Where(line => !line.Contains("clip_grad_norm_(g.parameters()")));
        var test = new VerifyAddClip.Test
        {
            TestCode = before,
            FixedCode = afterOneFix,
            BatchFixedCode = after,
            CodeActionEquivalenceKey = AddGradientClippingCodeFix.EquivalenceKey,
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
        };
        await test.RunAsync();
    }
}

/// <summary>BG0007 with the BatchGuard runtime referenced: its guard counts as clipping, and a second fix inserts it.</summary>
public sealed class BG0007WithGuardTests
{
    private static async Task Diagnostics(string source, params DiagnosticResult[] expected)
    {
        var test = new VerifyClipping.Test { TestCode = source };
        GuardRuntime.AddTo(test.TestState);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static async Task Fix(string source, string fixedSource, string? batchFixedSource = null)
    {
        var test = new VerifyGuard.Test
        {
            TestCode = source,
            FixedCode = fixedSource,
            BatchFixedCode = batchFixedSource ?? fixedSource,
            CodeActionEquivalenceKey = UseTrainingGuardCodeFix.EquivalenceKey,
        };
        GuardRuntime.AddTo(test.TestState, test.FixedState, test.BatchFixedState);
        await test.RunAsync();
    }

    private const string GuardUsings = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using BatchGuard.Guard;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using F = TorchSharp.torch.nn.functional;

        """;

    [Fact]
    public void Analyzer_looks_for_the_guard_by_its_real_name()
    {
        Assert.Equal(BatchGuardSymbols.TrainingGuardMetadataName, typeof(BatchGuard.Guard.TrainingGuard).FullName);
    }

    [Fact]
    public async Task Loop_that_checks_its_gradients_with_AfterBackward_is_not_reported()
    {
        await Diagnostics(GuardUsings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> model, IEnumerable<(Tensor x, Tensor y)> batches)
                {
                    var optimizer = optim.Adam(model.parameters());
                    using var guard = new TrainingGuard(model.parameters(), optimizer, new GuardOptions { Policy = GuardPolicy.Clip });
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        var loss = F.mse_loss(model.forward(x), y);
                        loss.backward();
                        if (guard.AfterBackward(loss, x.shape[0]).ShouldStep) optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Loop_driven_by_guard_Step_has_no_step_of_its_own_and_is_not_reported()
    {
        await Diagnostics(GuardUsings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> model, IEnumerable<(Tensor x, Tensor y)> batches)
                {
                    var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
                    using var guard = new TrainingGuard(model.parameters(), optimizer, new GuardOptions { Policy = GuardPolicy.Clip });
                    foreach (var (x, y) in batches)
                        guard.Step(F.mse_loss(model.forward(x), y), x.shape[0]);
                }
            }
            """);
    }

    [Fact]
    public async Task Guard_Step_for_one_model_counts_as_the_loops_clipping()
    {
        // The loop also steps a second optimizer itself. The guard in the loop is taken as the loop's guarding: a
        // deliberate miss (which optimizer a guard covers is not traced), since a false positive is worse.
        await Diagnostics(GuardUsings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> g, nn.Module<Tensor, Tensor> d, Tensor x)
                {
                    var optG = optim.Adam(g.parameters());
                    var optD = optim.Adam(d.parameters());
                    using var guard = new TrainingGuard(g.parameters(), optG);
                    for (var i = 0; i < 10; i++)
                    {
                        d.forward(x).mean().backward();
                        optD.step();
                        guard.Step(g.forward(x).mean(), x.shape[0]);
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Other_BatchGuard_calls_in_the_loop_are_not_clipping()
    {
        // Before, any call into the runtime silenced the rule; only the guard's clipping entry points do now.
        await Diagnostics(GuardUsings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> model, Tensor x, TrainingGuard guard)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        var loss = model.forward(x).mean();
                        loss.backward();
                        guard.BeginEpoch();
                        {|#0:optimizer.step()|};
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "Adam"));
    }

    [Fact]
    public async Task TorchSharp_clip_on_a_tensor_is_not_gradient_clipping()
    {
        await Diagnostics(GuardUsings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        var loss = model.forward(x.clip(-1, 1)).mean();
                        loss.backward();
                        {|#0:optimizer.step()|};
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "Adam"));
    }

    // ---- Code fix: use BatchGuard's TrainingGuard ----

    private const string Data = """
                var x = randn(64, 4);
                var y = randn(64, 1);
                var loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 16, shuffle: true, drop_last: true);
                var model = nn.Sequential(nn.Linear(4, 1));
        """;

    private static string Method(string usings, string body) =>
        usings + "class Trainer\n{\n    void Train()\n    {\n" + Data + "\n" + body + "\n    }\n}\n";

    [Fact]
    public async Task Fix_declares_a_clipping_guard_before_the_epoch_loop_and_steps_only_when_it_allows()
    {
        await Fix(Method(TestReferences.Usings, """
                    var optimizer = optim.Adam(model.parameters());
                    // train
                    for (var epoch = 0; epoch < 10; epoch++)
                    {
                        foreach (var batch in loader)
                        {
                            optimizer.zero_grad();
                            var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                            loss.backward();
                            {|BG0007:optimizer.step()|}; // update
                        }
                    }
            """), Method(GuardUsings, """
                    var optimizer = optim.Adam(model.parameters());
                    using var guard = new TrainingGuard(model.parameters(), optimizer, GuardOptions.From(loader) with { Policy = GuardPolicy.Clip });
                    // train
                    for (var epoch = 0; epoch < 10; epoch++)
                    {
                        foreach (var batch in loader)
                        {
                            optimizer.zero_grad();
                            var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                            loss.backward();
                            if (guard.AfterBackward(loss, batch[0].shape[0]).ShouldStep) optimizer.step(); // update
                        }
                    }
            """));
    }

    [Fact]
    public async Task Fix_keeps_the_guard_inside_an_outer_loop_that_creates_the_optimizer()
    {
        await Fix(Method(TestReferences.Usings, """
                    foreach (var lr in new[] { 1e-3, 1e-4 })
                    {
                        var optimizer = optim.AdamW(model.parameters(), lr);
                        for (var step = 0; step < 100; step++)
                        {
                            var loss = F.mse_loss(model.forward(x), y);
                            loss.backward();
                            {|BG0007:optimizer.step()|};
                            optimizer.zero_grad();
                        }
                    }
            """), Method(GuardUsings, """
                    foreach (var lr in new[] { 1e-3, 1e-4 })
                    {
                        var optimizer = optim.AdamW(model.parameters(), lr);
                        using var guard = new TrainingGuard(model.parameters(), optimizer, new GuardOptions { Policy = GuardPolicy.Clip });
                        for (var step = 0; step < 100; step++)
                        {
                            var loss = F.mse_loss(model.forward(x), y);
                            loss.backward();
                            if (guard.AfterBackward(loss, x.shape[0]).ShouldStep) optimizer.step();
                            optimizer.zero_grad();
                        }
                    }
            """));
    }

    [Fact]
    public async Task Fix_all_gives_each_loop_its_own_guard_and_adds_the_using_once()
    {
        await Fix(Method(TestReferences.Usings, """
                    var guard = "taken";
                    var first = optim.Adam(model.parameters());
                    foreach (var batch in loader)
                    {
                        var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                        loss.backward();
                        {|BG0007:first.step()|};
                    }
                    var second = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
                    foreach (var batch in loader)
                    {
                        var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                        loss.backward();
                        {|BG0007:second.step()|};
                    }
            """), Method(GuardUsings, """
                    var guard = "taken";
                    var first = optim.Adam(model.parameters());
                    using var guard2 = new TrainingGuard(model.parameters(), first, GuardOptions.From(loader) with { Policy = GuardPolicy.Clip });
                    foreach (var batch in loader)
                    {
                        var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                        loss.backward();
                        if (guard2.AfterBackward(loss, batch[0].shape[0]).ShouldStep) first.step();
                    }
                    var second = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
                    using var guard3 = new TrainingGuard(model.parameters(), second, GuardOptions.From(loader) with { Policy = GuardPolicy.Clip });
                    foreach (var batch in loader)
                    {
                        var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                        loss.backward();
                        if (guard3.AfterBackward(loss, batch[0].shape[0]).ShouldStep) second.step();
                    }
            """));
    }

    [Fact]
    public async Task Fix_all_puts_two_guards_before_a_shared_epoch_loop()
    {
        var before = Method(TestReferences.Usings, """
                    var optG = optim.Adam(model.parameters());
                    var critic = nn.Linear(4, 1);
                    var optC = optim.Adam(critic.parameters());
                    for (var epoch = 0; epoch < 3; epoch++)
                    {
                        for (var i = 0; i < 5; i++)
                        {
                            var lossC = critic.forward(x).mean();
                            lossC.backward();
                            {|BG0007:optC.step()|};
                        }
                        foreach (var batch in loader)
                        {
                            var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                            loss.backward();
                            {|BG0007:optG.step()|};
                        }
                    }
            """);
        var after = Method(GuardUsings, """
                    var optG = optim.Adam(model.parameters());
                    var critic = nn.Linear(4, 1);
                    var optC = optim.Adam(critic.parameters());
                    using var guard = new TrainingGuard(critic.parameters(), optC, new GuardOptions { Policy = GuardPolicy.Clip });
                    using var guard2 = new TrainingGuard(model.parameters(), optG, GuardOptions.From(loader) with { Policy = GuardPolicy.Clip });
                    for (var epoch = 0; epoch < 3; epoch++)
                    {
                        for (var i = 0; i < 5; i++)
                        {
                            var lossC = critic.forward(x).mean();
                            lossC.backward();
                            if (guard.AfterBackward(lossC, x.shape[0]).ShouldStep) optC.step();
                        }
                        foreach (var batch in loader)
                        {
                            var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                            loss.backward();
                            if (guard2.AfterBackward(loss, batch[0].shape[0]).ShouldStep) optG.step();
                        }
                    }
            """);
        await Fix(before, after);
    }

    [Fact]
    public async Task Fix_in_top_level_statements_declares_a_top_level_guard_whose_name_no_other_statement_uses()
    {
        var test = new VerifyGuard.Test
        {
            TestCode = TestReferences.Usings + """
                var model = nn.Linear(4, 1);
                var optimizer = optim.AdamW(model.parameters());
                for (var i = 0; i < 10; i++)
                {
                    var input = randn(8, 4);
                    var loss = model.forward(input).mean();
                    loss.backward();
                    {|BG0007:optimizer.step()|};
                }
                if (args.Length > 0) { var guard = args[0]; Console.WriteLine(guard); }

                """,
            FixedCode = GuardUsings + """
                var model = nn.Linear(4, 1);
                var optimizer = optim.AdamW(model.parameters());
                using var guard2 = new TrainingGuard(model.parameters(), optimizer, new GuardOptions { Policy = GuardPolicy.Clip });
                for (var i = 0; i < 10; i++)
                {
                    var input = randn(8, 4);
                    var loss = model.forward(input).mean();
                    loss.backward();
                    if (guard2.AfterBackward(loss, input.shape[0]).ShouldStep) optimizer.step();
                }
                if (args.Length > 0) { var guard = args[0]; Console.WriteLine(guard); }

                """,
            CodeActionEquivalenceKey = UseTrainingGuardCodeFix.EquivalenceKey,
        };
        test.TestState.OutputKind = Microsoft.CodeAnalysis.OutputKind.ConsoleApplication;
        test.FixedState.OutputKind = Microsoft.CodeAnalysis.OutputKind.ConsoleApplication;
        GuardRuntime.AddTo(test.TestState, test.FixedState, test.BatchFixedState);
        await test.RunAsync();
    }

    [Theory]
    [InlineData("F.mse_loss(model.forward(batch[0]), batch[1]).backward();", "the loss is not a variable")]
    [InlineData("var loss = F.mse_loss(model.forward(batch[0]), batch[1]) + F.mse_loss(model.forward(x), y); loss.backward();", "two different model inputs")]
    [InlineData("var loss = F.mse_loss(model.forward(batch[0]), batch[1]); loss.backward(); loss.backward();", "two backward() calls")]
    [InlineData("var loss = F.mse_loss(model.forward(batch[0] * 2), batch[1]); loss.backward();", "the input is computed")]
    public async Task No_guard_fix_without_a_sound_loss_and_batch_size(string body, string why)
    {
        Assert.NotEmpty(why);
        var source = Method(TestReferences.Usings, """
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var batch in loader)
                    {
                        BODY
                        {|BG0007:optimizer.step()|};
                    }
            """.Replace("BODY", body));
        await Fix(source, source);
    }

    [Fact]
    public async Task No_guard_fix_when_the_step_value_is_used()
    {
        var source = Method(TestReferences.Usings, """
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var batch in loader)
                    {
                        var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                        loss.backward();
                        var result = {|BG0007:optimizer.step()|};
                    }
            """);
        await Fix(source, source);
    }

    [Fact]
    public async Task No_guard_fix_without_the_BatchGuard_runtime()
    {
        var source = Method(TestReferences.Usings, """
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var batch in loader)
                    {
                        var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                        loss.backward();
                        {|BG0007:optimizer.step()|};
                    }
            """);
        // Same test as the fix above, minus the runtime reference: the action is not offered.
        await VerifyGuard.Fix(source, source, UseTrainingGuardCodeFix.EquivalenceKey);
    }

    [Fact]
    public async Task Fix_for_an_optimizer_field_guards_its_own_parameters_and_keeps_an_existing_using()
    {
        await Fix(GuardUsings + """
            class Trainer
            {
                private readonly nn.Module<Tensor, Tensor> _model = nn.Linear(4, 1);
                private readonly optim.Optimizer _optimizer;

                public Trainer() => _optimizer = optim.SGD(_model.parameters(), 0.1, momentum: 0.9);

                public void Train(IEnumerable<Tensor> batches)
                {
                    foreach (var input in batches)
                    {
                        var loss = _model.forward(input).mean();
                        loss.backward();
                        {|BG0007:_optimizer.step()|};
                        _optimizer.zero_grad();
                    }
                }
            }
            """, GuardUsings + """
            class Trainer
            {
                private readonly nn.Module<Tensor, Tensor> _model = nn.Linear(4, 1);
                private readonly optim.Optimizer _optimizer;

                public Trainer() => _optimizer = optim.SGD(_model.parameters(), 0.1, momentum: 0.9);

                public void Train(IEnumerable<Tensor> batches)
                {
                    using var guard = new TrainingGuard(_optimizer.parameters(), _optimizer, new GuardOptions { Policy = GuardPolicy.Clip });
                    foreach (var input in batches)
                    {
                        var loss = _model.forward(input).mean();
                        loss.backward();
                        if (guard.AfterBackward(loss, input.shape[0]).ShouldStep) _optimizer.step();
                        _optimizer.zero_grad();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Broken_code_with_the_runtime_does_not_crash_the_analyzer()
    {
        var test = new VerifyClipping.Test
        {
            TestCode = GuardUsings + """
                class Trainer
                {
                    void Train(nn.Module<Tensor, Tensor> model, TrainingGuard guard, Tensor x)
                    {
                        var optimizer = optim.Adam(model.parameters());
                        for (var i = 0; i < 3; i++)
                        {
                            var loss = model.forward(x).mean();
                            loss.backward();
                            {|#0:optimizer.step()|};
                            guard.AfterBackward(loss, );
                            guard.AfterBackward(;
                            guard.Step(
                        }
                    }
                }
                """,
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        GuardRuntime.AddTo(test.TestState);
        // Calls that do not bind are not the guard: the loop has no clipping yet (and nothing crashes).
        test.ExpectedDiagnostics.Add(VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "Adam"));
        await test.RunAsync();
    }
}
