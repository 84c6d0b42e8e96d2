using BatchGuard.Analyzers.CodeFixes;
using BatchGuard.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using VerifyFix = BatchGuard.Analyzers.Tests.Infrastructure.Verify<BatchGuard.Analyzers.DataLoaderOrderAnalyzer, BatchGuard.Analyzers.CodeFixes.SeededShuffleCodeFix>;

namespace BatchGuard.Analyzers.Tests.DataOrder;

/// <summary>
/// BG0009's fixes: with the BatchGuard runtime referenced, rewrite to the shuffler overload with an EpochShuffler;
/// without it, remove the seed.
/// </summary>
public sealed class BG0009FixTests
{
    /// <summary>The real BatchGuard runtime assembly (src/BatchGuard), as a user referencing the package has it.</summary>
    private static readonly MetadataReference BatchGuardRuntime =
        MetadataReference.CreateFromFile(typeof(BatchGuard.Data.EpochShuffler).Assembly.Location);

    private const string Header = """
        class Trainer
        {
            static Tensor x = randn(100, 4), y = randn(100, 1);
            static torch.utils.data.IterableDataset data = torch.utils.data.TensorDataset(x, y);
            static void Step(IList<Tensor> batch) { }

        """;

    private static string WithRuntimeUsing(string usings) =>
        usings.Replace("using System.Linq;\n", "using System.Linq;\nusing BatchGuard.Data;\n");

    private static async Task RunWithRuntime(string source, string fixedSource, string equivalenceKey = SeededShuffleCodeFix.UseEpochShuffler)
    {
        var test = new VerifyFix.Test
        {
            TestCode = source,
            FixedCode = fixedSource,
            BatchFixedCode = fixedSource,
            CodeActionEquivalenceKey = equivalenceKey,
        };
        test.TestState.AdditionalReferences.Add(BatchGuardRuntime);
        test.FixedState.AdditionalReferences.Add(BatchGuardRuntime);
        test.BatchFixedState.AdditionalReferences.Add(BatchGuardRuntime);
        await test.RunAsync();
    }

    [Fact]
    public void Fixer_looks_for_the_runtime_shuffler_by_its_real_name()
    {
        Assert.Equal(SeededShuffleCodeFix.EpochShufflerMetadataName, typeof(BatchGuard.Data.EpochShuffler).FullName);
    }

    [Fact]
    public async Task With_the_runtime_the_seed_becomes_an_EpochShuffler_keeping_the_other_arguments_and_comments()
    {
        await RunWithRuntime(TestReferences.Usings + Header + """
                void Train()
                {
                    var loader = torch.utils.data.DataLoader(
                        data, // the training split
                        32,
                        shuffle: true,
                        {|BG0009:seed: 3|},
                        drop_last: true); // keep batches full
                    for (int epoch = 0; epoch < 10; epoch++)
                        foreach (var batch in loader) Step(batch);
                }
            }
            """,
            WithRuntimeUsing(TestReferences.Usings) + Header + """
                void Train()
                {
                    var loader = torch.utils.data.DataLoader(
                        data, // the training split
                        32,
                        shuffler: new EpochShuffler(data.Count, seed: 3),
                        drop_last: true); // keep batches full
                    for (int epoch = 0; epoch < 10; epoch++)
                        foreach (var batch in loader) Step(batch);
                }
            }
            """);
    }

    [Fact]
    public async Task With_the_runtime_positional_arguments_keep_their_meaning_in_the_shuffler_overload()
    {
        // shuffle overload: (dataset, batchSize, shuffle, device, seed, num_worker, drop_last)
        // shuffler overload: (dataset, batchSize, shuffler, device, num_worker, drop_last)
        await RunWithRuntime(TestReferences.Usings + Header + """
                IterableDataLoader Create(int seed) => new IterableDataLoader(data, 32, true, CPU, {|BG0009:seed|}, 2, true);
            }
            """,
            WithRuntimeUsing(TestReferences.Usings) + Header + """
                IterableDataLoader Create(int seed) => new IterableDataLoader(data, 32, new EpochShuffler(data.Count, seed: seed), CPU, 2, true);
            }
            """);
    }

    [Fact]
    public async Task With_the_runtime_a_subclass_base_call_is_rewritten()
    {
        await RunWithRuntime(TestReferences.Usings + """
            class SeededLoader : IterableDataLoader
            {
                public SeededLoader(torch.utils.data.IterableDataset dataset) : base(dataset, 32, shuffle: true, {|BG0009:seed: 42|}) { }
            }
            """,
            WithRuntimeUsing(TestReferences.Usings) + """
            class SeededLoader : IterableDataLoader
            {
                public SeededLoader(torch.utils.data.IterableDataset dataset) : base(dataset, 32, shuffler: new EpochShuffler(dataset.Count, seed: 42)) { }
            }
            """);
    }

    [Fact]
    public async Task Fix_all_rewrites_every_seeded_loader_and_adds_the_using_once()
    {
        await RunWithRuntime(TestReferences.Usings + Header + """
                IterableDataLoader train = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 1|});
                IterableDataLoader valid = torch.utils.data.DataLoader(data, 64, shuffle: true, {|BG0009:seed: 2|}, drop_last: false);
            }
            """,
            WithRuntimeUsing(TestReferences.Usings) + Header + """
                IterableDataLoader train = torch.utils.data.DataLoader(data, 32, shuffler: new EpochShuffler(data.Count, seed: 1));
                IterableDataLoader valid = torch.utils.data.DataLoader(data, 64, shuffler: new EpochShuffler(data.Count, seed: 2), drop_last: false);
            }
            """);
    }

    [Fact]
    public async Task Without_the_runtime_the_seed_is_removed()
    {
        await VerifyFix.Fix(TestReferences.Usings + Header + """
                IterableDataLoader train = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 1|});
                IterableDataLoader valid = torch.utils.data.DataLoader(data, 64, shuffle: true, {|BG0009:seed: 2|}, drop_last: true);
            }
            """,
            TestReferences.Usings + Header + """
                IterableDataLoader train = torch.utils.data.DataLoader(data, 32, shuffle: true);
                IterableDataLoader valid = torch.utils.data.DataLoader(data, 64, shuffle: true, drop_last: true);
            }
            """, SeededShuffleCodeFix.RemoveSeed);
    }

    [Fact]
    public async Task Removing_a_positional_seed_names_the_positional_arguments_after_it()
    {
        await VerifyFix.Fix(TestReferences.Usings + Header + """
                IterableDataLoader Create() => new IterableDataLoader(data, 32, true, CPU, {|BG0009:{|BG0010:3|}|}, 2, true);
            }
            """,
            TestReferences.Usings + Header + """
                IterableDataLoader Create() => new IterableDataLoader(data, 32, true, CPU, num_worker: 2, drop_last: true);
            }
            """, SeededShuffleCodeFix.RemoveSeed);
    }

    [Fact]
    public async Task With_the_runtime_a_dataset_expression_that_cannot_be_read_twice_gets_the_seed_removed()
    {
        await RunWithRuntime(TestReferences.Usings + Header + """
                IterableDataLoader train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 32, shuffle: true, {|BG0009:seed: 1|});
            }
            """,
            TestReferences.Usings + Header + """
                IterableDataLoader train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 32, shuffle: true);
            }
            """, SeededShuffleCodeFix.RemoveSeed);
    }
}
