using BatchGuard.Analyzers.CodeFixes.Optimization;
using BatchGuard.Analyzers.Optimization;
using BatchGuard.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.Optimization;

using VerifyClipping = Verify<GradientClippingAnalyzer>;
using VerifyAddClip = Verify<GradientClippingAnalyzer, AddGradientClippingCodeFix>;
using VerifyMove = Verify<GradientClippingAnalyzer, MoveGradientClippingCodeFix>;

/// <summary>
/// BG0006 and BG0007 on a training step written as a method, local function or lambda: its body calls backward() and
/// step() outside any loop of its own, on an optimizer that outlives it, and the epoch loop calls it once per batch.
/// </summary>
public sealed class TrainingStepTests
{
    private static string StepMethod(string afterBackward = "", string optimizerCreation = "optim.Adam(model.parameters())", string afterStep = "") =>
        TestReferences.Usings + $$"""
        class Trainer
        {
            private readonly nn.Module<Tensor, Tensor> model = nn.Linear(4, 1);
            private readonly optim.Optimizer optimizer;

            public Trainer() => optimizer = {{optimizerCreation}};

            public void Fit(torch.utils.data.Dataset data)
            {
                foreach (var batch in torch.utils.data.DataLoader(data, 16, shuffle: true)) TrainBatch(batch["x"], batch["y"]);
            }

            private float TrainBatch(Tensor x, Tensor y)
            {
                optimizer.zero_grad();
                var loss = F.mse_loss(model.forward(x), y);
                loss.backward();{{afterBackward}}
                {|#0:optimizer.step()|};{{afterStep}}
                return loss.item<float>();
            }
        }
        """;

    private static string Unmarked(string source) => source.Replace("{|#0:optimizer.step()|}", "optimizer.step()");

    [Fact]
    public async Task A_step_method_with_a_stateful_optimizer_and_no_clipping_is_reported()
    {
        await VerifyClipping.Diagnostics(StepMethod(),
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "Adam"));
    }

    [Theory]
    [InlineData("\n        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);", "optim.Adam(model.parameters())")]
    [InlineData("", "optim.SGD(model.parameters(), 0.01)")]
    public async Task A_step_method_that_clips_or_steps_a_stateless_optimizer_is_not_reported(string afterBackward, string creation)
    {
        await VerifyClipping.Diagnostics(Unmarked(StepMethod(afterBackward, creation)));
    }

    [Fact]
    public async Task Clipping_after_the_step_in_a_step_method_is_reported_and_moved_before_it()
    {
        var clip = "\n        {|BG0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};";
        await VerifyMove.Fix(
            Unmarked(StepMethod(afterStep: clip)),
            Unmarked(StepMethod(afterBackward: "\n        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);")),
            MoveGradientClippingCodeFix.EquivalenceKey);
    }

    [Fact]
    public async Task Fix_inserts_clipping_in_the_step_method()
    {
        await VerifyAddClip.Fix(
            StepMethod().Replace("{|#0:optimizer.step()|}", "{|BG0007:optimizer.step()|}"),
            Unmarked(StepMethod("\n        torch.nn.utils.clip_grad_norm_(optimizer.parameters(), 1.0);")),
            AddGradientClippingCodeFix.EquivalenceKey);
    }

    [Fact]
    public async Task A_step_with_gradient_accumulation_that_clips_before_stepping_is_fine()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                private readonly nn.Module<Tensor, Tensor> model = nn.Linear(4, 1);
                private readonly optim.Optimizer optimizer;
                private int micro;

                public Trainer() => optimizer = optim.AdamW(model.parameters());

                public void TrainBatch(Tensor x, Tensor y)
                {
                    (F.mse_loss(model.forward(x), y) / 4).backward();
                    if (++micro % 4 != 0) return;
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                    optimizer.step();
                    optimizer.zero_grad();
                }
            }
            """);
    }

    [Fact]
    public async Task Local_function_and_lambda_steps_over_a_captured_optimizer_are_reported()
    {
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                void Fit(nn.Module<Tensor, Tensor> model, torch.utils.data.Dataset data)
                {
                    var optimizer = optim.RMSProp(model.parameters());
                    void Step(Tensor x, Tensor y)
                    {
                        F.mse_loss(model.forward(x), y).backward();
                        {|#0:optimizer.step()|};
                        optimizer.zero_grad();
                    }
                    Action<Tensor, Tensor> step = (x, y) =>
                    {
                        F.l1_loss(model.forward(x), y).backward();
                        {|#1:optimizer.step()|};
                        optimizer.zero_grad();
                    };
                    foreach (var batch in torch.utils.data.DataLoader(data, 16, shuffle: true))
                    {
                        Step(batch["x"], batch["y"]);
                        step(batch["x"], batch["y"]);
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "RMSProp"),
            VerifyClipping.Diagnostic("BG0007").WithLocation(1).WithArguments("optimizer", "RMSProp"));
    }

    [Fact]
    public async Task A_body_that_creates_the_optimizer_it_steps_is_not_a_training_step()
    {
        // A one-off update (a script, a smoke test): no caller repeats it with the same optimizer.
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Smoke
            {
                void OneUpdate(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y)
                {
                    var optimizer = optim.Adam(model.parameters());
                    F.mse_loss(model.forward(x), y).backward();
                    optimizer.step();
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                }
            }
            """);
    }

    [Fact]
    public async Task A_training_loop_in_a_method_is_reported_once()
    {
        // The loop is the training loop; the method around it is no step of its own.
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                private readonly optim.Optimizer optimizer;
                private readonly nn.Module<Tensor, Tensor> model = nn.Linear(4, 1);

                public Trainer() => optimizer = optim.Adam(model.parameters());

                public void Fit(torch.utils.data.Dataset data, Tensor warmupX, Tensor warmupY)
                {
                    foreach (var batch in torch.utils.data.DataLoader(data, 16, shuffle: true))
                    {
                        F.mse_loss(model.forward(batch["x"]), batch["y"]).backward();
                        {|#0:optimizer.step()|};
                        optimizer.zero_grad();
                    }
                }
            }
            """,
            VerifyClipping.Diagnostic("BG0007").WithLocation(0).WithArguments("optimizer", "Adam"));
    }

    [Fact]
    public async Task Backward_without_a_step_is_no_training_step()
    {
        // A saliency map: gradients for the input, no update.
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Saliency
            {
                private readonly optim.Optimizer optimizer = optim.Adam(nn.Linear(4, 1).parameters());

                Tensor Map(nn.Module<Tensor, Tensor> model, Tensor x)
                {
                    x.requires_grad_(true);
                    model.forward(x).sum().backward();
                    return x.grad!;
                }
            }
            """);
    }

    [Fact]
    public async Task A_step_or_a_loop_that_calls_a_helper_of_the_users_that_clips_is_not_reported()
    {
        // StabiliseGradients is not named *clip*, but its body clips: one call deep, the rule looks.
        var helper = "\n    private void StabiliseGradients() => torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);";
        await VerifyClipping.Diagnostics(Unmarked(StepMethod("\n        StabiliseGradients();"))
            .Replace("    public Trainer()", helper + "\n    public Trainer()"));
        await VerifyClipping.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                private readonly nn.Module<Tensor, Tensor> model = nn.Linear(4, 1);

                public void Fit(torch.utils.data.Dataset data)
                {
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var batch in torch.utils.data.DataLoader(data, 16, shuffle: true))
                    {
                        F.mse_loss(model.forward(batch["x"]), batch["y"]).backward();
                        Stabilise(model);
                        optimizer.step();
                        optimizer.zero_grad();
                    }
                }

                private static void Stabilise(nn.Module<Tensor, Tensor> m)
                {
                    torch.nn.utils.clip_grad_value_(m.parameters(), 0.5);
                }
            }
            """);
    }
}
