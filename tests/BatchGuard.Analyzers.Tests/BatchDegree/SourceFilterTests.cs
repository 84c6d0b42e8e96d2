using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyBatching = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.BatchingRules>;
using VerifyLoss = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.LossScalingRules>;

namespace BatchGuard.Analyzers.Tests.BatchDegree;

/// <summary>
/// The batch-degree index only walks members whose text mentions <c>backward</c>, <c>DataLoader</c> or <c>foreach</c>,
/// and finds field writes and call sites by the member's name (analyzers/BatchGuard.Analyzers/Infrastructure/SourceMarks.cs).
/// These cases would change a diagnostic if that text test missed what it must not miss.
/// </summary>
public sealed class SourceFilterTests
{
    /// <summary>A trainer whose loader type is only ever named through the alias <c>Loader</c>.</summary>
    private const string TrainerUsingTheAlias = """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, Loader loader)
                {
                    foreach (var b in loader)
                    {
                        var loss = F.mse_loss(net.forward(b["x"]), b["y"]) / b["x"].shape[0];
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }

                void Run(torch.utils.data.Dataset train, nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer) =>
                    Train(net, optimizer, Make(train));

                static Loader Make(torch.utils.data.Dataset data) => {|BG0001:new Loader(data, 16, shuffle: true)|};
            }
        """;

    [Fact]
    public async Task A_loader_type_renamed_by_a_using_alias_is_still_a_loader()
    {
        await VerifyBatching.Diagnostics(TestReferences.Usings + "using Loader = TorchSharp.Modules.DataLoader;\n\n" + TrainerUsingTheAlias);
    }

    [Fact]
    public async Task A_loader_alias_inside_a_file_scoped_namespace_is_still_seen()
    {
        await VerifyBatching.Diagnostics(TestReferences.Usings + "namespace Training;\n\nusing Loader = TorchSharp.Modules.DataLoader;\n\n" + TrainerUsingTheAlias);
    }

    [Fact]
    public async Task A_loader_alias_inside_nested_namespaces_is_still_seen()
    {
        await VerifyBatching.Diagnostics(TestReferences.Usings + "namespace Outer\n{\n    namespace Inner\n    {\n        using Loader = TorchSharp.Modules.DataLoader;\n\n" +
            TrainerUsingTheAlias + "\n    }\n}\n");
    }

    [Fact]
    public async Task A_global_alias_in_another_file_turns_the_text_test_off_everywhere()
    {
        var test = new VerifyBatching.Test();
        test.TestState.Sources.Add(("Aliases.cs", "global using Loader = TorchSharp.Modules.DataLoader;"));
        test.TestState.Sources.Add(("Trainer.cs", TestReferences.Usings + TrainerUsingTheAlias));
        await test.RunAsync();
    }

    [Fact]
    public async Task An_evaluation_loop_that_mentions_no_loader_type_still_counts_as_the_loaders_consumer()
    {
        // Evaluate names neither DataLoader nor backward: its loop must still be found, or the shuffled loader, with no
        // visible consumer, would pass for a training loader (BG0002).
        string source = TestReferences.Usings + """
            class Evaluation
            {
                static DataLoader Make(torch.utils.data.Dataset data) => torch.utils.data.DataLoader(data, 100, shuffle: true);

                double Evaluate(nn.Module<Tensor, Tensor> net, torch.utils.data.Dataset test)
                {
                    var loader = Make(test);
                    var correct = 0L;
                    foreach (var b in loader) correct += net.forward(b["x"]).argmax(1).eq(b["y"]).sum().item<long>();
                    return correct;
                }
            }
            """;
        await VerifyBatching.Diagnostics(source);
    }

    private static string ThroughATargetTypedConstructor(string dropLast, string division) => TestReferences.Usings + $$"""
        class Trainer
        {
            private readonly DataLoader _loader;
            private readonly nn.Module<Tensor, Tensor> _net = nn.Linear(4, 1);

            public Trainer(DataLoader loader) => _loader = loader;

            public void Train(optim.Optimizer optimizer, int batchSize)
            {
                foreach (var b in _loader)
                {
                    var loss = {{division}};
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
        }

        static class Program
        {
            static void Main(torch.utils.data.Dataset train, optim.Optimizer optimizer) =>
                Start(new(torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: {{dropLast}})), optimizer);

            static void Start(Trainer trainer, optim.Optimizer optimizer) => trainer.Train(optimizer, 16);
        }
        """;

    [Fact]
    public async Task A_loader_passed_through_a_target_typed_new_keeps_its_drop_last()
    {
        // The loader reaches the field through Trainer's constructor, called as `new(...)`: Main's text never names Trainer.
        // With drop_last: true every batch is full, so dividing by the nominal size is exact.
        await VerifyLoss.Diagnostics(ThroughATargetTypedConstructor("true", """(_net.forward(b["x"]) - b["y"]).abs().sum() / batchSize"""));
    }

    [Fact]
    public async Task A_loader_passed_through_a_target_typed_new_without_drop_last_is_reported()
    {
        await VerifyLoss.Diagnostics(ThroughATargetTypedConstructor("false", """{|BG0003:(_net.forward(b["x"]) - b["y"]).abs().sum() / batchSize|}"""));
    }

    private static string FieldLoaderCreatedByTargetTypedNew(string initializer) => TestReferences.Usings + $$"""
        class Trainer
        {
            private static readonly torch.utils.data.Dataset Train = null!;
            private readonly DataLoader _loader = {{initializer}};

            public void Run(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
            {
                foreach (var b in _loader)
                {
                    optimizer.zero_grad();
                    var loss = F.mse_loss(net.forward(b["x"]), b["y"]);
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task A_field_loader_created_by_a_target_typed_new_is_seen()
    {
        // The field initializer's text is `= new(...)`: no word names the loader type, yet it is a loader creation.
        await VerifyBatching.Diagnostics(FieldLoaderCreatedByTargetTypedNew("{|BG0002:new(Train, 32, shuffle: true)|}"));
        await VerifyBatching.Diagnostics(FieldLoaderCreatedByTargetTypedNew("new(Train, 32, shuffle: true, drop_last: true)"));
    }
}
