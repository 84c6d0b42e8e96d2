using BatchGuard.Analyzers.CodeFixes.LossScaling;
using BatchGuard.Analyzers.BatchDegree;
using BatchGuard.Analyzers.Tests.BatchDegree;
using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyLoss = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.LossScalingRules>;

namespace BatchGuard.Analyzers.Tests.LossScaling;

public sealed class BG0004Tests
{
    private static string Train(string loopBody, string members = "") => TestReferences.Usings + $$"""
        class Trainer
        {
            {{members}}
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
            {
                var data = torch.utils.data.TensorDataset(randn(1000, 4), randn(1000, 1));
                var loader = torch.utils.data.DataLoader(data, 16, shuffle: true);
                foreach (var b in loader)
                {
                    optimizer.zero_grad();
                    var pred = net.forward(b[0]);
                    var y = b[1];
                    {{loopBody}}
                    optimizer.step();
                }
            }
        }
        """;

    // Gradient accumulation inside one loader batch: the micro-batches' losses, each divided by their number, add up
    // to the batch mean over that many backward() calls. The number of chunks is not the batch's size.
    [Theory]
    [InlineData("long chunks = b[0].shape[0] / 4;")]
    [InlineData("long chunks = (b[0].shape[0] + MicroBatchSize - 1) / MicroBatchSize;")]
    public async Task Dividing_by_the_number_of_micro_batches_is_not_normalising_twice(string chunks)
    {
        await VerifyLoss.Diagnostics(Train($$"""
            {{chunks}}
            for (var i = 0; i < b[0].shape[0]; i += MicroBatchSize)
            {
                var end = (int)Math.Min(i + MicroBatchSize, b[0].shape[0]);
                var loss = F.mse_loss(net.forward(b[0][i..end]), y[i..end]) / chunks;
                loss.backward();
            }
            """, "const int MicroBatchSize = 4;"));
    }

    [Fact]
    public async Task A_criterion_field_first_met_deep_in_a_helper_chain_is_still_known_at_the_top()
    {
        await VerifyLoss.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                readonly nn.Module<Tensor, Tensor, Tensor> _criterion = MakeCriterion();
                static nn.Module<Tensor, Tensor, Tensor> MakeCriterion() => nn.MSELoss();

                Tensor D1(Tensor p, Tensor y) => D2(p, y);
                Tensor D2(Tensor p, Tensor y) => D3(p, y);
                Tensor D3(Tensor p, Tensor y) => D4(p, y);
                Tensor D4(Tensor p, Tensor y) => D5(p, y);
                Tensor D5(Tensor p, Tensor y) => _criterion.forward(p, y);

                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    foreach (var b in torch.utils.data.DataLoader(train, 16, drop_last: true))
                    {
                        var pred = net.forward(b["x"]);
                        var y = b["y"];
                        var loss = D1(pred, y) + {|BG0004:_criterion.forward(pred, y) / y.shape[0]|};
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Mean_loss_divided_again_by_the_actual_batch_size_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = {|BG0004:F.mse_loss(pred, y) / y.shape[0]|};
            loss.backward();
            """));
    }

    [Fact]
    public async Task Mean_then_size_division_through_div_call_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = {|BG0004:(pred - y).abs().mean().div(pred.size(0))|};
            loss.backward();
            """));
    }

    [Fact]
    public async Task Compound_division_of_an_averaged_loss_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = F.l1_loss(pred, y);
            {|BG0004:loss /= pred.shape[0]|};
            loss.backward();
            """));
    }

    [Fact]
    public async Task Custom_loss_module_averaged_over_matches_then_divided_by_batch_is_reported()
    {
        string source = TestReferences.Usings + """
            class MatchedL1 : nn.Module<Tensor, Tensor, Tensor>
            {
                public MatchedL1() : base(nameof(MatchedL1)) { }
                public override Tensor forward(Tensor pred, Tensor boxes)
                {
                    var matched = boxes > 0;
                    var perBox = (pred - boxes).abs() * matched;
                    return perBox.sum() / matched.sum().clamp_min(1);
                }
            }

            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    var criterion = new MatchedL1();
                    var dl = torch.utils.data.DataLoader(train, 16, shuffle: true);
                    foreach (var b in dl)
                    {
                        var boxes = b["boxes"];
                        var perBatch = criterion.forward(net.forward(b["img"]), boxes);
                        var loss = {|BG0004:perBatch / boxes.shape[0]|};
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }

    [Theory]
    // The loss reaching backward() is the custom module's output as it stands (or its mean): its forward is still
    // interpreted, where a library criterion's output is known to carry no finding.
    [InlineData("var loss = criterion.forward(net.forward(b[\"img\"]), b[\"boxes\"]);")]
    [InlineData("var perBatch = criterion.forward(net.forward(b[\"img\"]), b[\"boxes\"]); var loss = perBatch.mean();")]
    public async Task A_custom_loss_module_normalising_twice_in_its_forward_is_reported_there(string lossLine)
    {
        await VerifyLoss.Diagnostics(TestReferences.Usings + $$"""
            class TwiceL1 : nn.Module<Tensor, Tensor, Tensor>
            {
                public TwiceL1() : base(nameof(TwiceL1)) { }
                public override Tensor forward(Tensor pred, Tensor boxes) => {|BG0004:F.l1_loss(pred, boxes) / pred.shape[0]|};
            }

            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    var criterion = new TwiceL1();
                    foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true))
                    {
                        {{lossLine}}
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Double_normalisation_inside_a_helper_method_is_reported_in_the_helper()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = Loss(pred, y);
            loss.backward();
            """, members: """
            static Tensor Loss(Tensor p, Tensor t) => {|BG0004:F.smooth_l1_loss(p, t) / p.shape[0]|};
            """));
    }

    [Fact]
    public async Task Double_normalisation_inside_a_lambda_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            Func<Tensor, Tensor, Tensor> lossFn = (p, t) => {|BG0004:(p - t).pow(2).mean() / p.shape[0]|};
            var loss = lossFn(pred, y);
            loss.backward();
            """));
    }

    [Fact]
    public async Task Criterion_module_with_default_mean_reduction_stored_in_a_field_is_followed()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = {|BG0004:_criterion.forward(pred, y) / y.shape[0]|};
            loss.backward();
            """, members: "private readonly MSELoss _criterion = nn.MSELoss();"));
    }

    [Fact]
    public async Task Sum_reduction_divided_by_the_actual_batch_size_is_a_correct_mean()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = F.mse_loss(pred, y, reduction: nn.Reduction.Sum) / y.shape[0];
            loss.backward();
            """));
    }

    [Fact]
    public async Task Per_sample_losses_divided_by_the_batch_size_then_summed_are_a_correct_mean()
    {
        await VerifyLoss.Diagnostics(Train("""
            var perSample = F.l1_loss(pred, y, reduction: nn.Reduction.None);
            var loss = (perSample / pred.shape[0]).sum();
            loss.backward();
            """));
    }

    [Fact]
    public async Task Mean_loss_divided_by_gradient_accumulation_steps_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            const int accumulationSteps = 4;
            var loss = F.mse_loss(pred, y) / accumulationSteps;
            loss.backward();
            """));
    }

    [Fact]
    public async Task Double_normalised_value_only_read_for_logging_is_not_a_training_loss()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = F.mse_loss(pred, y);
            var perSampleForLog = (loss / y.shape[0]).item<float>();
            Console.WriteLine(perSampleForLog);
            loss.backward();
            """));
    }

    [Fact]
    public async Task Loss_that_never_reaches_backward_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var validation = F.mse_loss(pred, y) / y.shape[0];
            Console.WriteLine(validation.ToSingle());
            F.mse_loss(pred, y).backward();
            """));
    }

    [Fact]
    public async Task Mean_divided_by_a_tensor_of_unknown_origin_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = F.mse_loss(pred, y) / Scale();
            loss.backward();
            """, members: "static Tensor Scale() => torch.tensor(2.0f);"));
    }

    [Fact]
    public async Task Loss_reassigned_in_only_one_branch_is_not_trusted()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = F.mse_loss(pred, y, reduction: nn.Reduction.Sum);
            if (y.shape[0] > 8) loss = F.mse_loss(pred, y);
            var scaled = loss / y.shape[0];
            scaled.backward();
            """));
    }
}

public sealed class BG0004FixTests
{
    private static string Train(string loopBody) => TestReferences.Usings + $$"""
        class Trainer
        {
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                var loader = torch.utils.data.DataLoader(train, 16, shuffle: true);
                foreach (var b in loader)
                {
                    var pred = net.forward(b["x"]);
                    var y = b["y"];
                    {{loopBody}}
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task Fix_removes_the_second_division_and_keeps_comments()
    {
        await CompilationEndFix<BatchDegreeAnalyzer, RemoveSecondNormalizationCodeFix>.Verify(Train("""
            var loss = /* boxes */ {|BG0004:F.mse_loss(pred, y) / y.shape[0]|}; // averaged twice
            loss.backward();
            """), Train("""
            var loss = /* boxes */ F.mse_loss(pred, y); // averaged twice
            loss.backward();
            """));
    }

    [Fact]
    public async Task Fix_removes_a_compound_division_statement()
    {
        await CompilationEndFix<BatchDegreeAnalyzer, RemoveSecondNormalizationCodeFix>.Verify(Train("""
            var loss = F.mse_loss(pred, y);
            {|BG0004:loss /= y.shape[0]|};
            loss.backward();
            """), Train("""
            var loss = F.mse_loss(pred, y);
            loss.backward();
            """));
    }

    [Fact]
    public async Task Fix_turns_a_div_call_into_its_receiver()
    {
        await CompilationEndFix<BatchDegreeAnalyzer, RemoveSecondNormalizationCodeFix>.Verify(Train("""
            var loss = {|BG0004:F.l1_loss(pred, y).div(pred.size(0))|};
            loss.backward();
            """), Train("""
            var loss = F.l1_loss(pred, y);
            loss.backward();
            """));
    }

    [Fact]
    public async Task Multiplying_a_mean_by_the_reciprocal_batch_size_is_reported_and_fixed()
    {
        await CompilationEndFix<BatchDegreeAnalyzer, RemoveSecondNormalizationCodeFix>.Verify(Train("""
            var loss = {|BG0004:(1.0 / y.shape[0]) * F.mse_loss(pred, y)|};
            loss.backward();
            """), Train("""
            var loss = F.mse_loss(pred, y);
            loss.backward();
            """));
    }

    [Fact]
    public async Task Multiplying_a_sum_by_the_reciprocal_batch_size_is_a_correct_mean()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = (pred - y).pow(2).sum() * (1.0 / y.shape[0]);
            loss.backward();
            """));
    }

    [Fact]
    public async Task Fix_all_removes_every_second_normalisation()
    {
        await CompilationEndFix<BatchDegreeAnalyzer, RemoveSecondNormalizationCodeFix>.Verify(Train("""
            var a = {|BG0004:F.mse_loss(pred, y) / y.shape[0]|};
            var c = {|BG0004:F.l1_loss(pred, y) / pred.shape[0]|};
            (a + c).backward();
            """), Train("""
            var a = F.mse_loss(pred, y);
            var c = F.l1_loss(pred, y);
            (a + c).backward();
            """));
    }
}

public sealed class BG0004LossSubclassTests
{
    [Fact]
    public async Task Loss_subclass_whose_forward_is_a_mean_then_divided_by_the_batch_is_reported()
    {
        string source = TestReferences.Usings + """
            class MeanAbsLoss : Loss<Tensor, Tensor, Tensor>
            {
                public MeanAbsLoss() : base(nn.Reduction.Mean) { }
                public override Tensor forward(Tensor input, Tensor target) => (input - target).abs().sum() / input.shape[0];
            }

            class Trainer
            {
                private readonly MeanAbsLoss _loss = new MeanAbsLoss();

                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true))
                    {
                        var pred = net.forward(b["x"]);
                        var loss = {|BG0004:_loss.call(pred, b["y"]) / pred.shape[0]|};
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }

    [Fact]
    public async Task Loss_subclass_returning_a_sum_divided_by_the_actual_batch_size_is_correct()
    {
        string source = TestReferences.Usings + """
            class SumAbsLoss : Loss<Tensor, Tensor, Tensor>
            {
                public SumAbsLoss() : base(nn.Reduction.Sum) { }
                public override Tensor forward(Tensor input, Tensor target) => (input - target).abs().sum();
            }

            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    var criterion = new SumAbsLoss();
                    foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true))
                    {
                        var pred = net.forward(b["x"]);
                        var loss = criterion.forward(pred, b["y"]) / pred.shape[0];
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }
}

public sealed class BG0004BatchShapesTests
{
    [Fact]
    public async Task Deconstructed_batches_from_a_custom_collate_are_followed()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset<(Tensor, Tensor)> data)
                {
                    var loader = new DataLoader<(Tensor, Tensor), (Tensor, Tensor)>(data, 16,
                        (items, device) => (cat(items.Select(i => i.Item1).ToArray(), 0), cat(items.Select(i => i.Item2).ToArray(), 0)), shuffle: true);
                    foreach (var (x, y) in loader)
                    {
                        var loss = {|BG0004:F.mse_loss(net.forward(x), y) / x.shape[0]|};
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }
}

public sealed class BG0004AccumulationTests
{
    [Fact]
    public async Task Running_sample_counter_is_not_mistaken_for_a_batch_count()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    long seen = 1;
                    foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: true))
                    {
                        seen += b["x"].shape[0];
                        var loss = F.mse_loss(net.forward(b["x"]), b["y"]) / seen;
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }
}

public sealed class BG0004IndexingTests
{
    private static string Train(string body) => TestReferences.Usings + $$"""
        class Trainer
        {
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true))
                {
                    var output = net.forward(b["x"]);
                    {{body}}
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task Slicing_along_the_batch_axis_keeps_the_batch()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = {|BG0004:output[.., 0].mean() / output.shape[0]|};
            loss.backward();
            """));
    }

    [Fact]
    public async Task Picking_one_sample_is_not_a_batch()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = output[0].mean() / output.shape[0];
            loss.backward();
            """));
    }
}

public sealed class BG0004LossFunctionFieldTests
{
    [Fact]
    public async Task Loss_function_stored_in_a_field_is_followed_into_its_lambda()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                private readonly Func<Tensor, Tensor, Tensor> _lossFn = (p, t) => {|BG0004:F.l1_loss(p, t) / t.size(0)|};

                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true))
                    {
                        _lossFn(net.forward(b["x"]), b["y"]).backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }
}
