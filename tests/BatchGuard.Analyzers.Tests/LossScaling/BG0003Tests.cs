using BatchGuard.Analyzers.CodeFixes.LossScaling;
using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyLoss = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.LossScalingRules>;
using VerifyFix = BatchGuard.Analyzers.Tests.BatchDegree.CompilationEndFix<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.CodeFixes.LossScaling.ActualBatchSizeCodeFix>;

namespace BatchGuard.Analyzers.Tests.LossScaling;

public sealed class BG0003Tests
{
    private static string Train(string loopBody, string loaderArguments = "16, shuffle: true", string members = "") => TestReferences.Usings + $$"""
        class HParams { public int BatchSize { get; set; } = 16; }

        class Trainer
        {
            private readonly HParams hparams = new HParams();
            {{members}}
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
            {
                var data = torch.utils.data.TensorDataset(randn(1000, 4), randn(1000, 1));
                var loader = torch.utils.data.DataLoader(data, {{loaderArguments}});
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

    [Fact]
    public async Task Sum_divided_by_a_batch_size_setting_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss2 = {|BG0003:(pred - y).abs().sum() / hparams.BatchSize|};
            loss2.backward();
            """));
    }

    [Fact]
    public async Task Sum_divided_by_the_loaders_literal_batch_size_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = {|BG0003:F.mse_loss(pred, y, reduction: nn.Reduction.Sum) / 16|};
            loss.backward();
            """));
    }

    [Fact]
    public async Task Sum_divided_by_the_local_passed_as_the_loaders_batch_size_is_reported()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    int bs = 32;
                    var loader = torch.utils.data.DataLoader(train, bs, shuffle: true);
                    foreach (var b in loader)
                    {
                        var loss = {|BG0003:(net.forward(b["x"]) - b["y"]).pow(2).sum().div(bs)|};
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }

    private static string TrainWithParameter(string parameter, string divisor, string loaderBatchSize = "") => TestReferences.Usings + $$"""
        class Trainer
        {
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train, int {{parameter}})
            {
                foreach (var b in torch.utils.data.DataLoader(train, {{(loaderBatchSize.Length > 0 ? loaderBatchSize : parameter)}}, shuffle: true))
                {
                    var loss = {{divisor}};
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task Sum_divided_by_a_batch_size_parameter_is_reported()
    {
        await VerifyLoss.Diagnostics(TrainWithParameter("batchSize", """{|BG0003:(net.forward(b["x"]) - b["y"]).abs().sum() / batchSize|}"""));
    }

    [Fact]
    public async Task Sum_divided_by_the_parameter_passed_as_the_loaders_batch_size_is_reported()
    {
        await VerifyLoss.Diagnostics(TrainWithParameter("n", """{|BG0003:(net.forward(b["x"]) - b["y"]).abs().sum() / n|}"""));
    }

    [Fact]
    public async Task Sum_divided_by_a_number_parameter_that_is_not_the_batch_size_is_not_reported()
    {
        // Train(..., int scale): a setting, not the loader's batch size and not named like one: no claim.
        await VerifyLoss.Diagnostics(TrainWithParameter("scale", """(net.forward(b["x"]) - b["y"]).abs().sum() / scale""", loaderBatchSize: "16"));
    }

    [Fact]
    public async Task Message_names_the_sum_the_nominal_size_and_the_actual_size()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = (pred - y).abs().sum() / hparams.BatchSize;
            loss.backward();
            """),
            VerifyLoss.Diagnostic("BG0003").WithSpan(23, 24, 23, 66).WithSpan(23, 49, 23, 66)
                .WithArguments("(pred - y).abs().sum()", "hparams.BatchSize", "pred.shape[0]"));
    }

    [Fact]
    public async Task Extra_nominal_names_come_from_editorconfig()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = {|BG0003:(pred - y).abs().sum() / hparams.Mb|};
            loss.backward();
            """, members: "").Replace("public int BatchSize { get; set; } = 16;", "public int BatchSize { get; set; } = 16; public int Mb => 16;"),
            "dotnet_diagnostic.BG0003.nominal_batch_size_names = Mb");
    }

    [Fact]
    public async Task Sum_divided_by_the_actual_batch_size_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = (pred - y).abs().sum() / pred.shape[0];
            loss.backward();
            """));
    }

    [Fact]
    public async Task Mean_reduction_loss_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss3 = F.l1_loss(pred, y);
            loss3.backward();
            """));
    }

    [Fact]
    public async Task Sum_divided_by_the_batch_size_with_drop_last_is_exact_and_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = (pred - y).abs().sum() / hparams.BatchSize;
            loss.backward();
            """, loaderArguments: "16, shuffle: true, drop_last: true"));
    }

    [Fact]
    public async Task Sum_divided_by_the_batch_size_when_the_loop_skips_short_batches_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            if (y.shape[0] < hparams.BatchSize) continue;
            var loss = (pred - y).abs().sum() / hparams.BatchSize;
            loss.backward();
            """));
    }

    // A training step written as a method, local function or lambda gets its batches from the loops that call it.
    private static string StepMethod(string loaderArguments, string callerLoopBody = "Step(b[\"x\"], b[\"y\"]);") => TestReferences.Usings + $$"""
        class Trainer
        {
            const int BatchSize = 32;
            private readonly nn.Module<Tensor, Tensor> net = nn.Linear(4, 1);
            private readonly optim.Optimizer opt;

            public Trainer() => opt = optim.SGD(net.parameters(), 0.1);

            public void Fit(torch.utils.data.Dataset data)
            {
                var loader = torch.utils.data.DataLoader(data, {{loaderArguments}});
                foreach (var b in loader)
                {
                    {{callerLoopBody}}
                }
            }

            private void Step(Tensor x, Tensor y)
            {
                var loss = [|F.mse_loss(net.forward(x), y, reduction: nn.Reduction.Sum) / BatchSize|];
                opt.zero_grad();
                loss.backward();
                opt.step();
            }
        }
        """;

    [Theory]
    [InlineData("BatchSize, shuffle: true, drop_last: true", "Step(b[\"x\"], b[\"y\"]);")]
    [InlineData("BatchSize, shuffle: true", "if (b[\"x\"].shape[0] < BatchSize) continue; Step(b[\"x\"], b[\"y\"]);")]
    public async Task A_step_method_called_only_from_loops_with_full_batches_is_not_reported(string loader, string callerLoopBody)
    {
        await VerifyLoss.Diagnostics(StepMethod(loader, callerLoopBody).Replace("[|", "").Replace("|]", ""));
    }

    [Fact]
    public async Task A_step_method_called_from_a_loop_with_short_batches_is_reported()
    {
        await VerifyLoss.Diagnostics(StepMethod("BatchSize, shuffle: true").Replace("[|", "{|BG0003:").Replace("|]", "|}"));
    }

    // A call site in a loop that reads the loader in a shape the model does not follow: the loader's drop_last still
    // clears the step; a loader that can yield a short batch leaves it judged by the divisor's name (reported).
    private static string StepMethodInAnUnmodelledLoop(string loaderArguments, string fitBody) => TestReferences.Usings + $$"""
        using System.Linq;

        class Trainer
        {
            const int BatchSize = 32;
            private readonly nn.Module<Tensor, Tensor> net = nn.Linear(4, 1);
            private readonly optim.Optimizer opt;

            public Trainer() => opt = optim.SGD(net.parameters(), 0.1);

            public void Fit(torch.utils.data.Dataset data, int max)
            {
                var loader = torch.utils.data.DataLoader(data, {{loaderArguments}});
                {{fitBody}}
            }

            private void Step(Tensor x, Tensor y)
            {
                var loss = [|F.mse_loss(net.forward(x), y, reduction: nn.Reduction.Sum) / BatchSize|];
                opt.zero_grad();
                loss.backward();
                opt.step();
            }
        }

        class Settings { public int MaxSteps { get; set; } = 100; public double LearningRate { get; set; } = 0.1; }
        """;

    public static TheoryData<string> UnmodelledLoops => new()
    {
        "foreach (var b in loader.Take(max)) Step(b[\"x\"], b[\"y\"]);",
        "using var e = loader.GetEnumerator(); var steps = 0; while (e.MoveNext() && steps++ < max) Step(e.Current[\"x\"], e.Current[\"y\"]);",
        "var batches = loader.ToList(); for (var i = 0; i < batches.Count; i++) Step(batches[i][\"x\"], batches[i][\"y\"]);",
        // Settings read on the way to the step carry no batch.
        "var device = torch.CPU; foreach (var b in loader.Take(max)) Step(b[\"x\"].to(device), b[\"y\"].to(torch.CPU));",
        // Two locals, or a deconstruction, made from the same batch.
        "foreach (var b in loader.Take(max)) { var x = b[\"x\"]; var y = b[\"y\"]; Step(x, y); }",
        "foreach (var b in loader.Take(max)) { var (x, y) = (b[\"x\"], b[\"y\"]); Step(x, y); }",
        // A module, or an options object of numbers, read on the way.
        "var settings = new Settings(); foreach (var b in loader.Take(settings.MaxSteps)) Step(net.forward(b[\"x\"]).detach(), b[\"y\"]);",
    };

    [Theory]
    [MemberData(nameof(UnmodelledLoops))]
    public async Task A_step_method_called_from_an_unmodelled_loop_over_a_drop_last_loader_is_not_reported(string fitBody)
    {
        await VerifyLoss.Diagnostics(StepMethodInAnUnmodelledLoop("BatchSize, shuffle: true, drop_last: true", fitBody).Replace("[|", "").Replace("|]", ""));
    }

    [Theory]
    [MemberData(nameof(UnmodelledLoops))]
    public async Task A_step_method_called_from_an_unmodelled_loop_over_a_loader_with_short_batches_is_reported(string fitBody)
    {
        await VerifyLoss.Diagnostics(StepMethodInAnUnmodelledLoop("BatchSize, shuffle: true", fitBody).Replace("[|", "{|BG0003:").Replace("|]", "|}"));
    }

    [Fact]
    public async Task A_step_method_called_from_a_loop_reading_a_drop_last_loader_and_a_short_one_is_reported()
    {
        await VerifyLoss.Diagnostics(StepMethodInAnUnmodelledLoop("BatchSize, shuffle: true, drop_last: true", """
            var extra = torch.utils.data.DataLoader(data, BatchSize);
            foreach (var b in loader.Concat(extra)) Step(b["x"], b["y"]);
            """).Replace("[|", "{|BG0003:").Replace("|]", "|}"));
    }

    // The loaders that clear a step are those its arguments come from, not any loader the surrounding loops read.
    [Theory]
    [InlineData("""
        var X = randn(1000, 4); var Y = randn(1000, 1); var n = X.shape[0];
        for (var epoch = 0; epoch < max; epoch++)
        {
            for (long i = 0; i < n; i += BatchSize) { var len = Math.Min(BatchSize, n - i); Step(X.narrow(0, i, len), Y.narrow(0, i, len)); }
            foreach (var b in loader) F.mse_loss(net.forward(b["x"]), b["y"]).item<float>();
        }
        """)]
    [InlineData("""
        var X = randn(1000, 4); var Y = randn(1000, 1); var n = X.shape[0];
        for (long i = 0; i < n; i += BatchSize) { Console.WriteLine(loader.Count); Step(X.narrow(0, i, Math.Min(BatchSize, n - i)), Y.narrow(0, i, Math.Min(BatchSize, n - i))); }
        """)]
    [InlineData("""
        var hard = new System.Collections.Generic.List<System.Collections.Generic.Dictionary<string, Tensor>>();
        hard.Add(new() { ["x"] = randn(5, 4), ["y"] = randn(5, 1) });
        foreach (var b in loader.Concat(hard)) Step(b["x"], b["y"]);
        """)]
    // Batches added to the loader's list by hand, and micro-batches sliced from a full batch.
    [InlineData("""
        var batches = loader.ToList();
        batches.Add(new System.Collections.Generic.Dictionary<string, Tensor> { ["x"] = randn(5, 4), ["y"] = randn(5, 1) });
        for (var i = 0; i < batches.Count; i++) Step(batches[i]["x"], batches[i]["y"]);
        """)]
    [InlineData("""
        foreach (var b in loader.Take(max))
        {
            var x = b["x"]; var y = b["y"];
            for (long i = 0; i < x.shape[0]; i += 24) Step(x.narrow(0, i, Math.Min(24, x.shape[0] - i)), y.narrow(0, i, Math.Min(24, x.shape[0] - i)));
        }
        """)]
    public async Task A_step_method_fed_by_something_else_than_its_loop_s_drop_last_loader_is_reported(string fitBody)
    {
        await VerifyLoss.Diagnostics(StepMethodInAnUnmodelledLoop("BatchSize, shuffle: true, drop_last: true", fitBody).Replace("[|", "{|BG0003:").Replace("|]", "|}"));
    }

    [Fact]
    public async Task A_step_method_called_from_a_slicing_loop_is_still_reported()
    {
        // No loader at all: the last slice is short, and the nominal batch size is known by its name.
        await VerifyLoss.Diagnostics(StepMethodInAnUnmodelledLoop("BatchSize, shuffle: true, drop_last: true", """
            var X = randn(1000, 4); var Y = randn(1000, 1); var n = X.shape[0];
            for (long i = 0; i < n; i += BatchSize) Step(X.narrow(0, i, Math.Min(BatchSize, n - i)), Y.narrow(0, i, Math.Min(BatchSize, n - i)));
            """).Replace("[|", "{|BG0003:").Replace("|]", "|}"));
    }

    [Theory]
    [InlineData("""
        const int batchSize = 32;
        var loader = torch.utils.data.DataLoader(data, batchSize, shuffle: true, drop_last: true);
        foreach (var b in loader) Step(b["x"], b["y"]);

        void Step(Tensor x, Tensor y)
        {
            var loss = (net.forward(x) - y).pow(2).sum() / batchSize;
            loss.backward();
            opt.step();
        }
        """)]
    [InlineData("""
        const int batchSize = 64;
        var exact = torch.utils.data.TensorDataset(randn(1024, 4), randn(1024, 1));
        var loader = torch.utils.data.DataLoader(exact, batchSize, shuffle: true);
        Action<Tensor, Tensor> step = (x, y) =>
        {
            var loss = (net.forward(x) - y).pow(2).sum() / batchSize;
            loss.backward();
            opt.step();
        };
        foreach (var b in loader) step(b[0], b[1]);
        """)]
    [InlineData("""
        const int batchSize = 32;
        var loader = torch.utils.data.DataLoader(data, batchSize, shuffle: true, drop_last: true);
        foreach (var b in System.Linq.Enumerable.Take(loader, 10)) Step(b["x"], b["y"]);

        void Step(Tensor x, Tensor y)
        {
            var loss = (net.forward(x) - y).pow(2).sum() / batchSize;
            loss.backward();
            opt.step();
        }
        """)]
    public async Task A_local_step_called_only_from_loops_with_full_batches_is_not_reported(string body)
    {
        await VerifyLoss.Diagnostics(TestReferences.Usings + $$"""
            class Trainer
            {
                void Fit(nn.Module<Tensor, Tensor> net, optim.Optimizer opt, torch.utils.data.Dataset data)
                {
                    {{body}}
                }
            }
            """);
    }

    [Fact]
    public async Task A_local_step_called_from_a_loop_with_short_batches_is_reported_as_you_type_with_its_loader()
    {
        await Verify<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer>.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                void Fit(nn.Module<Tensor, Tensor> net, optim.Optimizer opt, torch.utils.data.Dataset data)
                {
                    const int batchSize = 32;
                    var loader = {|BG0001:torch.utils.data.DataLoader(data, batchSize, shuffle: true)|};
                    foreach (var b in loader) Step(b["x"], b["y"]);

                    void Step(Tensor x, Tensor y)
                    {
                        var loss = {|BG0003:(net.forward(x) - y).pow(2).sum() / batchSize|};
                        loss.backward();
                        opt.step();
                    }
                }
            }
            """);
    }

    [Theory]
    // A parameter named like the batch size that its call site gives the batch's own size.
    [InlineData("""
        foreach (var b in torch.utils.data.DataLoader(data, 32, shuffle: true)) { var x = b["x"]; Step(x, b["y"], x.shape[0]); }
        """, """
        void Step(Tensor x, Tensor y, long batchSize)
        {
            var loss = F.mse_loss(net.forward(x), y, reduction: nn.Reduction.Sum) / batchSize;
            loss.backward();
            opt.step();
        }
        """)]
    // A field named like the batch size, set from each batch.
    [InlineData("""
        foreach (var b in torch.utils.data.DataLoader(data, 32, shuffle: true))
        {
            var x = b["x"];
            currentBatchSize = x.shape[0];
            var loss = (net.forward(x) - b["y"]).pow(2).sum() / currentBatchSize;
            loss.backward();
            opt.step();
        }
        """, "long currentBatchSize;")]
    // A property named BatchSize whose getter reads the batch.
    [InlineData("""
        foreach (var b in torch.utils.data.DataLoader(data, 32, shuffle: true))
        {
            var batch = new Batch(b["x"], b["y"]);
            var loss = (net.forward(batch.X) - batch.Y).pow(2).sum() / batch.BatchSize;
            loss.backward();
            opt.step();
        }
        """, "record Batch(Tensor X, Tensor Y) { public long BatchSize => X.shape[0]; }")]
    public async Task A_batch_size_that_holds_the_actual_size_of_a_batch_is_not_the_nominal_one(string body, string members)
    {
        await VerifyLoss.Diagnostics(TestReferences.Usings + $$"""
            class Trainer
            {
                private readonly nn.Module<Tensor, Tensor> net = nn.Linear(4, 1);
                private readonly optim.Optimizer opt;
                public Trainer() => opt = optim.SGD(net.parameters(), 0.1);
                {{members}}

                public void Fit(torch.utils.data.Dataset data)
                {
                    {{body}}
                }
            }
            """);
    }

    [Fact]
    public async Task A_local_a_lambda_captures_and_the_loop_rewrites_is_not_read_where_it_was_first_written()
    {
        // The lambda runs after `batchSize = ...shape[0]`, not where `= 0` stands: its value is not known.
        await VerifyLoss.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                void Fit(nn.Module<Tensor, Tensor> net, optim.Optimizer opt, torch.utils.data.Dataset data)
                {
                    long batchSize = 0;
                    Func<Tensor, Tensor, Tensor> lossFn = (p, t) => F.mse_loss(p, t, reduction: nn.Reduction.Sum) / batchSize;
                    foreach (var b in torch.utils.data.DataLoader(data, 32, shuffle: true))
                    {
                        batchSize = b["x"].shape[0];
                        var loss = lossFn(net.forward(b["x"]), b["y"]);
                        loss.backward();
                        opt.step();
                    }
                }
            }
            """);
    }

    [Theory]
    // A property computed from other settings is a setting.
    [InlineData("int PerDevice = 8; int Devices = 2; int BatchSize => PerDevice * Devices;", "")]
    // A loop over a batch's size is not a skip of short batches.
    [InlineData("int BatchSize = 16;", "var n = b[0].shape[0]; for (long i = 0; i < n; i += 4) { }")]
    public async Task A_batch_size_setting_stays_the_nominal_one(string members, string before)
    {
        await VerifyLoss.Diagnostics(TestReferences.Usings + $$"""
            class Trainer
            {
                {{members}}
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
                {
                    var data = torch.utils.data.TensorDataset(randn(1000, 4), randn(1000, 1));
                    foreach (var b in torch.utils.data.DataLoader(data, 16, shuffle: true))
                    {
                        {{before}}
                        var loss = {|BG0003:(net.forward(b[0]) - b[1]).abs().sum() / BatchSize|};
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_step_method_also_used_as_a_method_group_is_not_judged_by_its_direct_calls_alone()
    {
        // Called directly from a drop_last loop, but also through a delegate from a loop with short batches.
        await VerifyLoss.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                const int BatchSize = 16;
                readonly nn.Module<Tensor, Tensor> _net = nn.Linear(4, 1);
                readonly optim.Optimizer _opt;
                Trainer(optim.Optimizer opt) => _opt = opt;

                void Step(Tensor x, Tensor y)
                {
                    var loss = {|BG0003:(_net.forward(x) - y).abs().sum() / BatchSize|};
                    _opt.zero_grad();
                    loss.backward();
                    _opt.step();
                }

                void Train(torch.utils.data.Dataset data)
                {
                    foreach (var b in torch.utils.data.DataLoader(data, BatchSize, drop_last: true)) Step(b["x"], b["y"]);
                    Action<Tensor, Tensor> step = Step;
                    foreach (var b in torch.utils.data.DataLoader(data, BatchSize, shuffle: true)) step(b["x"], b["y"]);
                }
            }
            """);
    }

    [Fact]
    public async Task A_batch_size_setting_written_from_a_constant_or_a_caller_is_still_the_nominal_one()
    {
        await VerifyLoss.Diagnostics(TestReferences.Usings + """
            class Trainer
            {
                private readonly nn.Module<Tensor, Tensor> net = nn.Linear(4, 1);
                private readonly optim.Optimizer opt;
                private readonly int _batchSize;
                public Trainer(int batchSize) { _batchSize = batchSize; opt = optim.SGD(net.parameters(), 0.1); }
                public static Trainer Create() => new Trainer(32);

                public void Fit(torch.utils.data.Dataset data)
                {
                    foreach (var b in torch.utils.data.DataLoader(data, _batchSize, shuffle: true))
                    {
                        var loss = {|BG0003:(net.forward(b["x"]) - b["y"]).pow(2).sum() / _batchSize|};
                        loss.backward();
                        opt.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Sum_divided_by_a_constant_that_is_not_a_batch_size_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            const float scale = 100f;
            var loss = (pred - y).abs().sum() / scale;
            loss.backward();
            """));
    }

    [Fact]
    public async Task Sum_divided_by_the_batch_size_only_for_logging_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = F.l1_loss(pred, y);
            Console.WriteLine(((pred - y).abs().sum() / hparams.BatchSize).item<float>());
            loss.backward();
            """));
    }

    [Fact]
    public async Task Fix_divides_by_the_actual_batch_size_and_keeps_comments()
    {
        await VerifyFix.Verify(Train("""
            var loss = {|BG0003:(pred - y).abs().sum() / /* nominal */ hparams.BatchSize|}; // per-sample mean
            loss.backward();
            """), Train("""
            var loss = (pred - y).abs().sum() / /* nominal */ pred.shape[0]; // per-sample mean
            loss.backward();
            """), ActualBatchSizeCodeFix.ActualBatchSizeKey);
    }

    // A mean scaled by the batch's size and divided by the nominal one is the same sum over the nominal size; the fix
    // divides by the size already written, not by the scalar mean's (non-existent) first dimension.
    [Fact]
    public async Task Fix_of_a_rescaled_mean_divides_by_the_size_it_was_scaled_by()
    {
        await VerifyFix.Verify(Train("""
            var mean = F.mse_loss(pred, y);
            var a = {|BG0003:mean * pred.shape[0] / hparams.BatchSize|};
            var c = {|BG0003:mean.mul(y.size(0)) / hparams.BatchSize|};
            (a + c).backward();
            """), Train("""
            var mean = F.mse_loss(pred, y);
            var a = mean * pred.shape[0] / pred.shape[0];
            var c = mean.mul(y.size(0)) / y.size(0);
            (a + c).backward();
            """), ActualBatchSizeCodeFix.ActualBatchSizeKey);
    }

    // The sum held in a local (found in real training code) or computed from a module's output: the fix names a tensor
    // with a batch axis, never the 0-d sum itself.
    [Fact]
    public async Task Fix_looks_through_a_reduced_local_and_a_module_call_for_a_batch_tensor()
    {
        await VerifyFix.Verify(Train("""
            var err = (pred - y).abs().sum();
            var a = {|BG0003:err / hparams.BatchSize|};
            var c = {|BG0003:(net.forward(b[0]) - y).pow(2).sum() / hparams.BatchSize|};
            (a + c).backward();
            """), Train("""
            var err = (pred - y).abs().sum();
            var a = err / pred.shape[0];
            var c = (net.forward(b[0]) - y).pow(2).sum() / b[0].shape[0];
            (a + c).backward();
            """), ActualBatchSizeCodeFix.ActualBatchSizeKey);
    }

    // Only a size the sum is multiplied by is a rescale; one read elsewhere (a class count for one_hot) is not the batch's.
    [Fact]
    public async Task Fix_ignores_a_size_that_does_not_scale_the_sum()
    {
        await VerifyFix.Verify(Train("""
            var classes = randn(10, 4);
            var a = {|BG0003:(pred - F.one_hot(y.to(ScalarType.Int64), classes.shape[0])).pow(2).sum() / hparams.BatchSize|};
            var s = (pred - y).abs().sum();
            var err = s * 2;
            var c = {|BG0003:err / hparams.BatchSize|};
            (a + c).backward();
            """), Train("""
            var classes = randn(10, 4);
            var a = (pred - F.one_hot(y.to(ScalarType.Int64), classes.shape[0])).pow(2).sum() / pred.shape[0];
            var s = (pred - y).abs().sum();
            var err = s * 2;
            var c = err / pred.shape[0];
            (a + c).backward();
            """), ActualBatchSizeCodeFix.ActualBatchSizeKey);
    }

    [Fact]
    public async Task Fix_can_use_mean_instead_of_sum_over_batch_size()
    {
        await VerifyFix.Verify(Train("""
            var loss = {|BG0003:(pred - y).abs().sum() / hparams.BatchSize|};
            loss.backward();
            """), Train("""
            var loss = (pred - y).abs().mean();
            loss.backward();
            """), ActualBatchSizeCodeFix.MeanKey);
    }

    [Fact]
    public async Task Fix_all_rewrites_every_occurrence_in_the_document()
    {
        await VerifyFix.Verify(Train("""
            var a = {|BG0003:(pred - y).abs().sum() / hparams.BatchSize|};
            var c = {|BG0003:(y - pred).pow(2).sum() / hparams.BatchSize|};
            (a + c).backward();
            """), Train("""
            var a = (pred - y).abs().sum() / pred.shape[0];
            var c = (y - pred).pow(2).sum() / y.shape[0];
            (a + c).backward();
            """), ActualBatchSizeCodeFix.ActualBatchSizeKey);
    }
}
