using BatchGuard.Analyzers.CodeFixes.Optimization;
using BatchGuard.Analyzers.Optimization;
using BatchGuard.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.Optimization;

using VerifyClipping = Verify<GradientClippingAnalyzer>;
using VerifyAddClip = Verify<GradientClippingAnalyzer, AddGradientClippingCodeFix>;

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
    [InlineData("optim.Adagrad(model.parameters())")]
    [InlineData("optim.Rprop(model.parameters())")]
    public async Task Optimizer_without_momentum_state_is_not_reported(string creation)
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
