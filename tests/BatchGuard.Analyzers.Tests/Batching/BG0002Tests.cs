using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyBatching = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.BatchingRules>;
using VerifyFix = BatchGuard.Analyzers.Tests.BatchDegree.CompilationEndFix<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.CodeFixes.Batching.DropLastCodeFix>;

namespace BatchGuard.Analyzers.Tests.Batching;

public sealed class BG0002Tests
{
    private static string Loops(string trainLoader, string evalLoader = "torch.utils.data.DataLoader(test, 100)") => TestReferences.Usings + $$"""
        class Trainer
        {
            void Run(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train, torch.utils.data.Dataset test)
            {
                var trainLoader = {{trainLoader}};
                var evalLoader = {{evalLoader}};
                foreach (var b in trainLoader)
                {
                    optimizer.zero_grad();
                    var loss = F.cross_entropy(net.forward(b["x"]), b["y"]);
                    loss.backward();
                    optimizer.step();
                }
                foreach (var b in evalLoader)
                {
                    Console.WriteLine(F.cross_entropy(net.forward(b["x"]), b["y"]).item<float>());
                }
            }
        }
        """;

    [Fact]
    public async Task Training_loader_without_drop_last_is_reported_and_the_evaluation_loader_is_not()
    {
        await VerifyBatching.Diagnostics(Loops("{|BG0002:torch.utils.data.DataLoader(train, 32, shuffle: true)|}"));
    }

    [Fact]
    public async Task Message_names_the_loader_and_the_short_batch()
    {
        await VerifyBatching.Diagnostics(Loops("torch.utils.data.DataLoader(train, 32, shuffle: true)"),
            VerifyBatching.Diagnostic("BG0002").WithSpan(12, 27, 12, 80)
                .WithArguments("trainLoader", "batch size 32, dataset size not known to be a multiple of it, no drop_last"));
    }

    [Fact]
    public async Task Explicit_drop_last_false_states_a_deliberate_choice()
    {
        await VerifyBatching.Diagnostics(Loops("torch.utils.data.DataLoader(train, 32, shuffle: true, drop_last: false)"));
    }

    [Fact]
    public async Task Training_loader_with_drop_last_is_not_reported()
    {
        await VerifyBatching.Diagnostics(Loops("torch.utils.data.DataLoader(train, 32, shuffle: true, drop_last: true)"));
    }

    [Fact]
    public async Task Shuffled_loader_used_only_for_evaluation_is_not_reported()
    {
        await VerifyBatching.Diagnostics(Loops("torch.utils.data.DataLoader(train, 32, drop_last: true)",
            evalLoader: "torch.utils.data.DataLoader(test, 100, shuffle: true)"));
    }

    [Fact]
    public async Task Exact_tensor_dataset_is_not_reported()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                void Run(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
                {
                    var data = torch.utils.data.TensorDataset(randn(1024, 4), randn(1024, 1));
                    foreach (var b in torch.utils.data.DataLoader(data, 64, shuffle: true))
                    {
                        F.mse_loss(net.forward(b[0]), b[1]).backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    // A user data set with a literal Count (TorchSharp's own tests write them so): its size is known.
    private static string CountedDataset(string countMember, string extraMembers = "") => TestReferences.Usings + $$"""
        class Items : torch.utils.data.Dataset
        {
            {{countMember}}
            {{extraMembers}}
            public override Dictionary<string, Tensor> GetTensor(long index) => new() { { "x", randn(4) }, { "y", randn(1) } };
        }

        class Trainer
        {
            void Run(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
            {
                using var items = new Items();
                using var loader = torch.utils.data.DataLoader(items, 64, shuffle: true);
                foreach (var b in loader)
                {
                    F.mse_loss(net.forward(b["x"]), b["y"]).backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Theory]
    [InlineData("public override long Count { get; } = 1024;")]
    [InlineData("public override long Count => 1024;")]
    [InlineData("public override long Count { get { return 1024; } }")]
    public async Task User_dataset_with_a_literal_count_that_is_a_multiple_is_not_reported(string count)
    {
        await VerifyBatching.Diagnostics(CountedDataset(count));
    }

    [Theory]
    [InlineData("public override long Count => 1000;", "", "1000 samples in batches of 64 leave a final batch of 40")]
    [InlineData("public override long Count { get; } = 1024;", "public Items() { Count = 1000; }", "batch size 64, dataset size not known to be a multiple of it, no drop_last")]
    [InlineData("public override long Count => _n;", "private readonly long _n = 1024;", "batch size 64, dataset size not known to be a multiple of it, no drop_last")]
    public async Task User_dataset_whose_count_is_not_a_literal_multiple_is_reported(string count, string members, string why)
    {
        await VerifyBatching.Diagnostics(CountedDataset(count, members),
            VerifyBatching.Diagnostic("BG0002").WithSpan(20, 28, 20, 81).WithArguments("loader", why));
    }

    [Fact]
    public async Task Inexact_tensor_dataset_names_the_final_batch_size()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                void Run(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
                {
                    var data = torch.utils.data.TensorDataset(randn(1000, 4), randn(1000, 1));
                    foreach (var b in torch.utils.data.DataLoader(data, 64, shuffle: true))
                    {
                        F.mse_loss(net.forward(b[0]), b[1]).backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source, VerifyBatching.Diagnostic("BG0002").WithSpan(13, 27, 13, 79)
            .WithArguments("torch.utils.data.DataLoader(data, 64, shuffle: true)", "1000 samples in batches of 64 leave a final batch of 40"));
    }

    [Fact]
    public async Task Factory_returning_a_shuffled_loader_is_a_training_loader()
    {
        string source = TestReferences.Usings + """
            static class Loaders
            {
                public static DataLoader Train(torch.utils.data.Dataset data) => {|BG0002:torch.utils.data.DataLoader(data, 32, shuffle: true)|};
                public static DataLoader Test(torch.utils.data.Dataset data) => torch.utils.data.DataLoader(data, 32);
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    // TorchSharp's own data-loader tests read shuffled loaders by hand and train nothing.
    [Fact]
    public async Task Shuffled_loader_read_by_hand_in_a_method_that_does_not_train_is_not_reported()
    {
        string source = TestReferences.Usings + """
            static class Checks
            {
                static bool SameFirstBatch(torch.utils.data.Dataset data)
                {
                    using var a = torch.utils.data.DataLoader(data, 2, shuffle: true, seed: 1);
                    using var ia = a.GetEnumerator();
                    ia.MoveNext();
                    return ia.Current["index"].equal(ia.Current["index"]).item<bool>() && a.Count > 0;
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Fact]
    public async Task Shuffled_loader_whose_batches_go_to_a_method_of_the_users_is_reported()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                nn.Module<Tensor, Tensor> net = nn.Linear(4, 1);
                optim.Optimizer optimizer;
                Trainer() { optimizer = optim.Adam(net.parameters()); }

                void Step(Dictionary<string, Tensor> batch)
                {
                    optimizer.zero_grad();
                    F.mse_loss(net.forward(batch["x"]), batch["y"]).backward();
                    optimizer.step();
                }

                void Run(torch.utils.data.Dataset data)
                {
                    var loader = {|BG0002:torch.utils.data.DataLoader(data, 32, shuffle: true)|};
                    using var it = loader.GetEnumerator();
                    while (it.MoveNext()) Step(it.Current);
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Fact]
    public async Task User_dataset_whose_count_another_part_assigns_is_not_known()
    {
        string source = TestReferences.Usings + """
            partial class Items : torch.utils.data.Dataset
            {
                public override long Count { get; } = 1024;
                public override Dictionary<string, Tensor> GetTensor(long index) => new() { { "x", randn(4) }, { "y", randn(1) } };
            }
            partial class Items
            {
                public Items(long n) { Count = n; }
            }

            class Trainer
            {
                void Run(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
                {
                    using var items = new Items(1000);
                    using var loader = {|BG0002:torch.utils.data.DataLoader(items, 64, shuffle: true)|};
                    foreach (var b in loader)
                    {
                        F.mse_loss(net.forward(b["x"]), b["y"]).backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Theory]
    [InlineData("""
        using var it = loader.GetEnumerator();
        while (it.MoveNext())
        {
            F.mse_loss(net.forward(it.Current["x"]), it.Current["y"]).backward();
            optimizer.step();
        }
        """)]
    [InlineData("Fit(loader);")]
    [InlineData("Batches = loader;")]
    [InlineData("Action next = () => loader.GetEnumerator();")]
    public async Task Shuffled_loader_enumerated_by_hand_for_training_or_handed_on_is_reported(string use)
    {
        string source = TestReferences.Usings + $$"""
            class Trainer
            {
                public DataLoader? Batches { get; set; }
                void Fit(DataLoader loader) { }

                void Run(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset data)
                {
                    var loader = {|BG0002:torch.utils.data.DataLoader(data, 32, shuffle: true)|};
                    {{use}}
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    [Fact]
    public async Task Fix_all_adds_drop_last_to_every_training_loader()
    {
        string Source(string a, string b) => TestReferences.Usings + $$"""
            static class Loaders
            {
                public static DataLoader A(torch.utils.data.Dataset data) => {{a}};
                public static DataLoader B(torch.utils.data.Dataset data) => {{b}};
            }
            """;
        await VerifyFix.Verify(
            Source("{|BG0002:torch.utils.data.DataLoader(data, 32, shuffle: true)|}", "{|BG0002:new DataLoader(data, 8, true)|}"),
            Source("torch.utils.data.DataLoader(data, 32, shuffle: true, drop_last: true)", "new DataLoader(data, 8, true, drop_last: true)"));
    }
}
