using BatchGuard.Analyzers.CodeFixes.Batching;
using BatchGuard.Analyzers.Tests.BatchDegree;
using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyBatching = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.BatchingRules>;
using VerifyFix = BatchGuard.Analyzers.Tests.BatchDegree.CompilationEndFix<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.CodeFixes.Batching.DropLastCodeFix>;

namespace BatchGuard.Analyzers.Tests.Batching;

public sealed class BG0001Tests
{
    /// <summary>The detection example: a loss averaged over matches inside a custom module, then over the batch.</summary>
    private const string MatchedL1 = """
        class MatchedL1 : nn.Module<Tensor, Tensor, Tensor>
        {
            public MatchedL1() : base(nameof(MatchedL1)) { }
            public override Tensor forward(Tensor pred, Tensor boxes)
            {
                var matched = boxes > 0;
                return ((pred - boxes).abs() * matched).sum() / matched.sum().clamp_min(1);
            }
        }

        """;

    private static string Detection(string loader, string loss = "perBatch / boxes.shape[0]") => TestReferences.Usings + MatchedL1 + $$"""
        class Trainer
        {
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                var criterion = new MatchedL1();
                var dl = {{loader}};
                foreach (var b in dl)
                {
                    var boxes = b["boxes"];
                    var perBatch = criterion.forward(net.forward(b["img"]), boxes);
                    var loss = {{loss}};
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task Loader_whose_batches_reach_a_twice_normalised_loss_is_reported()
    {
        await VerifyBatching.Diagnostics(Detection("{|BG0001:torch.utils.data.DataLoader(train, 16, shuffle: true)|}"));
    }

    [Fact]
    public async Task Message_names_the_loader_the_batch_size_and_the_loss()
    {
        await VerifyBatching.Diagnostics(Detection("torch.utils.data.DataLoader(train, 16, shuffle: true)"),
            VerifyBatching.Diagnostic("BG0001").WithSpan(22, 18, 22, 71)
                .WithArguments("dl", "batch size 16, dataset size not known to be a multiple of it, no drop_last", "perBatch / boxes.shape[0], BG0004"));
    }

    [Fact]
    public async Task Explicit_drop_last_false_does_not_silence_the_warning()
    {
        await VerifyBatching.Diagnostics(Detection("{|BG0001:torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: false)|}"));
    }

    [Fact]
    public async Task Loader_created_with_new_is_reported()
    {
        await VerifyBatching.Diagnostics(Detection("{|BG0001:new DataLoader(train, 16, shuffle: true)|}"));
    }

    [Fact]
    public async Task Loader_feeding_a_sum_over_the_nominal_batch_size_is_reported()
    {
        await VerifyBatching.Diagnostics(Detection("{|BG0001:torch.utils.data.DataLoader(train, 16, shuffle: true)|}",
            loss: "(net.forward(b[\"img\"]) - boxes).abs().sum() / 16"));
    }

    [Fact]
    public async Task Loader_stored_in_a_field_and_passed_as_a_parameter_is_followed()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                private readonly DataLoader _train;
                private readonly nn.Module<Tensor, Tensor> _net = nn.Linear(4, 1);

                Trainer(torch.utils.data.Dataset data) => _train = {|BG0001:torch.utils.data.DataLoader(data, 32, shuffle: true)|};

                void Fit(optim.Optimizer optimizer) => Epoch(_train, optimizer);

                void Epoch(DataLoader loader, optim.Optimizer optimizer)
                {
                    foreach (var batch in loader)
                    {
                        var loss = F.mse_loss(_net.forward(batch["x"]), batch["y"]) / batch["y"].size(0);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Fact]
    public async Task User_subclass_is_reported_at_its_base_constructor_call()
    {
        string source = TestReferences.Usings + """
            class BoxLoader : DataLoader
            {
                public BoxLoader(torch.utils.data.Dataset data) : {|BG0001:base(data, 8, shuffle: true)|} { }
            }

            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset data)
                {
                    foreach (var b in new BoxLoader(data))
                    {
                        var loss = F.l1_loss(net.forward(b["x"]), b["y"]) / b["x"].shape[0];
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Theory]
    [InlineData("1024", false)]
    [InlineData("1000", true)]
    public async Task A_user_dataset_with_a_literal_count_is_short_only_when_the_count_is_not_a_multiple(string count, bool reported)
    {
        // Found in TorchSharp's own tests: `Count { get; } = 10` data sets. A multiple of the batch size never gives a short batch.
        var loader = reported ? "{|BG0001:torch.utils.data.DataLoader(new Boxes(), 16, shuffle: true)|}" : "torch.utils.data.DataLoader(new Boxes(), 16, shuffle: true)";
        await VerifyBatching.Diagnostics(Detection(loader) + $$"""

            class Boxes : torch.utils.data.Dataset
            {
                public override long Count { get; } = {{count}};
                public override Dictionary<string, Tensor> GetTensor(long index) => new() { { "img", randn(4) }, { "boxes", randn(4) } };
            }
            """);
    }

    [Fact]
    public async Task Loader_with_drop_last_true_is_not_reported()
    {
        await VerifyBatching.Diagnostics(Detection("torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: true)"));
    }

    [Fact]
    public async Task Loader_with_a_non_constant_drop_last_is_not_reported()
    {
        await VerifyBatching.Diagnostics(Detection("torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: train.Count > 100)"));
    }

    [Fact]
    public async Task Loader_whose_dataset_size_is_a_multiple_of_the_batch_size_is_not_reported()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
                {
                    var x = randn(1024, 4);
                    var data = torch.utils.data.TensorDataset(x, randn(1024, 1));
                    var loader = torch.utils.data.DataLoader(data, 64, shuffle: true);
                    foreach (var b in loader)
                    {
                        var loss = F.mse_loss(net.forward(b[0]), b[1]) / b[0].shape[0];
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Fact]
    public async Task Loader_with_a_batch_size_of_one_is_not_reported()
    {
        await VerifyBatching.Diagnostics(Detection("torch.utils.data.DataLoader(train, 1, shuffle: true)"));
    }

    // Each spelling of "this batch is short" the loop can test (the comparison is found from the words shape/size), and
    // comparisons that test something else, which leave the loader reported.
    [Theory]
    [InlineData("""if (b["x"].shape[0] != 16) continue;""", false)]
    [InlineData("""if (b["x"].size(0) < 16) continue;""", false)]
    [InlineData("""if (16 > b["x"].size()[0]) continue;""", false)]
    [InlineData("""if ((int)b["x"].shape[0] != 16) continue;""", false)]
    [InlineData("""if (!(b["x"].@shape[0] == 16)) continue;""", false)]
    [InlineData("""var full = new System.Func<bool>(() => b["x"].shape[0] == 16)(); if (!full) continue;""", false)]
    [InlineData("""var n = b["x"].shape[0]; if (n < 16) continue;""", false)]
    [InlineData("""if (b["x"].shape[0] is < 16) continue;""", false)]
    [InlineData("""var n = b["x"].shape[1]; if (n < 16) continue;""", true)]
    [InlineData("""var n = b["x"].shape[0]; var m = n + 1; if (m < 16) continue;""", true)]
    [InlineData("""if (b["x"].shape[1] != 16) continue;""", true)]
    [InlineData("""if (b["x"].shape[0] + 1 < 16) continue;""", true)]
    [InlineData("""var shapeSize = b["x"].numel(); if (shapeSize < 16) continue;""", true)]
    public async Task Loader_whose_loop_skips_short_batches_is_not_reported(string skip, bool reported)
    {
        var loader = reported ? "{|BG0001:torch.utils.data.DataLoader(train, 16, shuffle: true)|}" : "torch.utils.data.DataLoader(train, 16, shuffle: true)";
        string source = TestReferences.Usings + $$"""
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    var loader = {{loader}};
                    foreach (var b in loader)
                    {
                        {{skip}}
                        var loss = F.mse_loss(net.forward(b["x"]), b["y"]) / b["x"].shape[0];
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Fact]
    public async Task Loader_feeding_a_correct_loss_is_not_a_warning()
    {
        await VerifyBatching.Diagnostics(Detection("{|BG0002:torch.utils.data.DataLoader(train, 16, shuffle: true)|}", loss: "perBatch"));
    }

    [Fact]
    public async Task User_type_named_DataLoader_is_not_a_loader()
    {
        string source = TestReferences.Usings + """
            namespace Mine
            {
                class DataLoader : System.Collections.Generic.List<Tensor> { public DataLoader(int batchSize) { } }

                class Trainer
                {
                    void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
                    {
                        foreach (var x in new DataLoader(16))
                        {
                            var loss = net.forward(x).mean() / x.shape[0];
                            loss.backward();
                            optimizer.step();
                        }
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Fact]
    public async Task Fix_adds_drop_last_and_keeps_the_other_arguments_and_comments()
    {
        await VerifyFix.Verify(
            Detection("{|BG0001:torch.utils.data.DataLoader(train, /* batch */ 16, shuffle: true)|} /* train */"),
            Detection("torch.utils.data.DataLoader(train, /* batch */ 16, shuffle: true, drop_last: true) /* train */"));
    }

    [Fact]
    public async Task Fix_turns_an_explicit_false_into_true()
    {
        await VerifyFix.Verify(
            Detection("{|BG0001:torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: /* keep */ false)|}"),
            Detection("torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: /* keep */ true)"));
    }

    [Fact]
    public async Task Fix_keeps_one_argument_per_line()
    {
        await VerifyFix.Verify(Detection("""
            {|BG0001:torch.utils.data.DataLoader(
                        train,
                        16,
                        shuffle: true)|}
            """), Detection("""
            torch.utils.data.DataLoader(
                        train,
                        16,
                        shuffle: true,
                        drop_last: true)
            """));
    }

    [Fact]
    public async Task Loader_returned_by_a_factory_method_is_followed_to_its_creation()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                static DataLoader MakeLoader(torch.utils.data.Dataset data) => {|BG0001:torch.utils.data.DataLoader(data, 16, shuffle: true)|};

                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset data)
                {
                    foreach (var b in MakeLoader(data))
                    {
                        var loss = (net.forward(b["x"]) - b["y"]).abs().sum() / 16;
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Fact]
    public async Task Fix_adds_drop_last_to_a_subclass_base_call()
    {
        static string Source(string baseCall) => TestReferences.Usings + $$"""
            class BoxLoader : DataLoader
            {
                public BoxLoader(torch.utils.data.Dataset data) : {{baseCall}} { }
            }

            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset data)
                {
                    foreach (var b in new BoxLoader(data))
                    {
                        var loss = F.l1_loss(net.forward(b["x"]), b["y"]) / b["x"].shape[0];
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyFix.Verify(Source("{|BG0001:base(data, 8, shuffle: true)|}"), Source("base(data, 8, shuffle: true, drop_last: true)"));
    }
}
