using BatchGuard.Analyzers.CodeFixes;
using BatchGuard.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using VerifyBG0009 = BatchGuard.Analyzers.Tests.Infrastructure.Verify<BatchGuard.Analyzers.DataLoaderOrderAnalyzer>;
using VerifyFix = BatchGuard.Analyzers.Tests.Infrastructure.Verify<BatchGuard.Analyzers.DataLoaderOrderAnalyzer, BatchGuard.Analyzers.CodeFixes.SeededShuffleCodeFix>;

namespace BatchGuard.Analyzers.Tests.DataOrder;

/// <summary>
/// BG0009: a seeded shuffle that serves more than one epoch repeats the same order every epoch. Fixes: with the
/// BatchGuard runtime referenced, rewrite to the shuffler overload with an EpochShuffler; without it, remove the seed.
/// </summary>
public sealed class BG0009Tests
{
    private static string Trainer(string members) => TestReferences.Usings + """
        class Trainer
        {
            static Tensor x = randn(100, 4), y = randn(100, 1);
            static torch.utils.data.IterableDataset data = torch.utils.data.TensorDataset(x, y);
            static void Step(IList<Tensor> batch) { }

        """ + members + """

        }
        """;

    [Fact]
    public async Task Seeded_loader_enumerated_in_an_epoch_loop_is_flagged_at_the_seed()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                void Train()
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|});
                    for (int epoch = 0; epoch < 10; epoch++)
                    {
                        foreach (var batch in loader) Step(batch);
                    }
                }
            """));
    }

    [Fact]
    public async Task Message_names_the_loader_and_the_seed()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                void Train(int epochs)
                {
                    using var trainLoader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|#0:seed: 1234|});
                    while (epochs-- > 0)
                        foreach (var batch in trainLoader) Step(batch);
                }
            """),
            VerifyBG0009.Diagnostic("BG0009").WithLocation(0).WithArguments("'trainLoader'", "1234"));
    }

    [Fact]
    public async Task Message_names_the_member_for_a_loader_without_a_name()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                IterableDataLoader CreateTrainLoader() => torch.utils.data.DataLoader(data, 32, shuffle: true, {|#0:seed: 3|});
            """),
            VerifyBG0009.Diagnostic("BG0009").WithLocation(0).WithArguments("in 'CreateTrainLoader'", "3"));
    }

    [Fact]
    public async Task Seeded_loader_enumerated_twice_is_flagged()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                void Train()
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|});
                    foreach (var batch in loader) Step(batch);
                    foreach (var batch in loader) Step(batch);
                }
            """));
    }

    [Fact]
    public async Task Seeded_loader_stored_in_a_field_is_flagged_because_its_consumer_is_not_visible()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                readonly IterableDataLoader loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|});
                IterableDataLoader? assigned;
                void Init() => assigned = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 4|});
            """));
    }

    [Fact]
    public async Task Seeded_loader_returned_or_passed_on_is_flagged()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                IterableDataLoader Create() => torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|});
                void Fit(IterableDataLoader loader) { }
                void Train()
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|});
                    Fit(loader);
                }
            """));
    }

    [Fact]
    public async Task Seeded_loader_recreated_with_the_same_seed_every_epoch_is_flagged()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                void Train()
                {
                    for (int epoch = 0; epoch < 10; epoch++)
                    {
                        foreach (var batch in torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|})) Step(batch);
                    }
                }
            """));
    }

    [Fact]
    public async Task Seeded_loader_captured_by_a_lambda_is_flagged()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                void Train()
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|});
                    Action epoch = () => { foreach (var batch in loader) Step(batch); };
                    epoch();
                }
            """));
    }

    [Fact]
    public async Task Constructors_and_subclass_base_calls_are_flagged()
    {
        await VerifyBG0009.Diagnostics(TestReferences.Usings + """
            class SeededLoader : IterableDataLoader
            {
                public SeededLoader(torch.utils.data.IterableDataset data) : base(data, 32, shuffle: true, {|BG0009:seed: 3|}) { }
            }
            class Trainer
            {
                IterableDataLoader Create(torch.utils.data.IterableDataset data) => new IterableDataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|});
                int localSeed = 7;
                IterableDataLoader CreateWithVariable(torch.utils.data.IterableDataset data) => new(data, 32, shuffle: true, {|BG0009:seed: localSeed|});
            }
            """);
    }

    [Fact]
    public async Task Generic_loader_with_a_collate_function_is_flagged()
    {
        await VerifyBG0009.Diagnostics(TestReferences.Usings + """
            class Rows : torch.utils.data.Dataset<long>
            {
                public override long Count => 10;
                public override long GetTensor(long index) => index;
            }
            class Trainer
            {
                static Tensor Collate(IEnumerable<long> rows, Device device) => tensor(rows.ToArray(), device: device);
                void Train()
                {
                    using var loader = new DataLoader<long, Tensor>(new Rows(), 4, Collate, shuffle: true, {|BG0009:seed: 5|});
                    for (int epoch = 0; epoch < 3; epoch++)
                        foreach (var batch in loader) { }
                }
            }
            """);
    }

    [Fact]
    public async Task Seeded_loader_created_and_enumerated_once_outside_any_loop_is_not_flagged()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                float Evaluate()
                {
                    using var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3);
                    long batches = loader.Count;
                    foreach (var batch in loader) Step(batch);
                    return batches;
                }
                Tensor FirstBatch() => torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3).First()[0];
            """));
    }

    [Fact]
    public async Task Enumerations_in_exclusive_branches_count_once()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                void Run(bool quick, int mode)
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3);
                    if (quick) { foreach (var batch in loader.Take(2)) Step(batch); }
                    else { foreach (var batch in loader) Step(batch); }
                }
                void Switch(int mode)
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3);
                    switch (mode)
                    {
                        case 0: foreach (var batch in loader) Step(batch); break;
                        default: var first = loader.First(); break;
                    }
                }
                void Both(bool quick)
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 3|});
                    if (quick) { foreach (var batch in loader) Step(batch); }
                    foreach (var batch in loader) Step(batch);
                }
            """));
    }

    // Single passes and per-epoch loaders written in ways an earlier version took for more than one epoch.
    [Theory]
    [InlineData("""
        IterableDataLoader? loader = null;
        try
        {
            loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3);
            foreach (var batch in loader) Step(batch);
        }
        finally { loader?.Dispose(); }
        Console.WriteLine(loader?.Count);
        """)]
    [InlineData("""
        IterableDataLoader? loader = null;
        for (int epoch = 0; epoch < 10; epoch++)
        {
            loader?.Dispose();
            loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 100 + epoch);
            foreach (var batch in loader) Step(batch);
        }
        """)]
    [InlineData("""
        var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 1);
        foreach (var batch in loader) Step(batch);
        loader.Dispose();
        loader = torch.utils.data.DataLoader(valid, 32, shuffle: true, seed: 1);
        foreach (var batch in loader) Step(batch);
        loader.Dispose();
        """)]
    [InlineData("""
        var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 7);
        for (int epoch = 0; epoch < 10; epoch++)
        {
            foreach (var batch in loader) Step(batch);
            loader.Dispose();
            loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 8 + epoch);
        }
        """)]
    [InlineData("""
        using var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3);
        if (quick)
        {
            foreach (var batch in loader.Take(2)) Step(batch);
            return;
        }
        foreach (var batch in loader) Step(batch);
        """)]
    [InlineData("""
        using var loader = quick ? torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3) : torch.utils.data.DataLoader(data, 32);
        foreach (var batch in loader) Step(batch);
        """)]
    [InlineData("""
        using var loader = given ?? torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3);
        foreach (var batch in loader) Step(batch);
        """)]
    [InlineData("""
        using var loader = (quick ? 1 : 0) switch { 0 => torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3), _ => torch.utils.data.DataLoader(data, 32) };
        foreach (var batch in loader) Step(batch);
        """)]
    [InlineData("""
        using var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 3);
        for (var it = loader.GetEnumerator(); it.MoveNext();) Step(it.Current);
        """)]
    [InlineData("""
        foreach (var (trainSet, testSet) in folds)
        {
            using var loader = torch.utils.data.DataLoader(trainSet, 32, shuffle: true, seed: 42);
            foreach (var batch in loader) Step(batch);
        }
        """)]
    [InlineData("""
        torch.utils.data.IterableDataset current = data;
        for (var k = 0; k < folds.Length; k++)
        {
            current = folds[k].Train;
            using var loader = torch.utils.data.DataLoader(current, 32, shuffle: true, seed: 42);
            foreach (var batch in loader) Step(batch);
        }
        """)]
    public async Task Single_passes_and_loaders_replaced_every_epoch_are_not_flagged(string body)
    {
        await VerifyBG0009.Diagnostics(Trainer($$"""
                static torch.utils.data.IterableDataset valid = torch.utils.data.TensorDataset(x, y);
                static (torch.utils.data.IterableDataset Train, torch.utils.data.IterableDataset Test)[] folds = { (data, valid) };

                void Run(bool quick, IterableDataLoader? given)
                {
                    {{body}}
                }
            """));
    }

    [Fact]
    public async Task A_loader_the_same_variable_held_before_is_still_judged_on_its_own_uses()
    {
        // Reassigning the variable does not hide the first loader's epoch loop.
        await VerifyBG0009.Diagnostics(Trainer("""
                void Run()
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 1|});
                    for (int epoch = 0; epoch < 3; epoch++)
                        foreach (var batch in loader) Step(batch);
                    loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: 2);
                    foreach (var batch in loader) Step(batch);
                }
            """));
    }

    // A loader stored under a condition may not be the one read; `yield return` comes back: the seeded loader still
    // serves every epoch.
    [Theory]
    [InlineData("""
        if (small) loader = torch.utils.data.DataLoader(valid, 8);
        for (int epoch = 0; epoch < 10; epoch++)
            foreach (var batch in loader) Step(batch);
        """)]
    [InlineData("""
        for (int epoch = 0; epoch < 100; epoch++)
        {
            if (epoch == 50) loader = torch.utils.data.DataLoader(valid, 32);
            foreach (var batch in loader) Step(batch);
        }
        """)]
    [InlineData("""
        for (int epoch = 0; epoch < 100; epoch++)
        {
            foreach (var batch in loader) Step(batch);
            if (epoch == 99) loader = torch.utils.data.DataLoader(valid, 32);
        }
        """)]
    public async Task A_loader_replaced_only_under_a_condition_still_serves_every_epoch(string body)
    {
        await VerifyBG0009.Diagnostics(Trainer($$"""
                static torch.utils.data.IterableDataset valid = torch.utils.data.TensorDataset(x, y);

                void Run(bool small)
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 1|});
                    {{body}}
                }
            """));
    }

    [Fact]
    public async Task A_pass_before_yield_return_is_not_the_only_one()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                IEnumerable<int> Run(bool warm)
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 1|});
                    if (warm)
                    {
                        foreach (var batch in loader) Step(batch);
                        yield return 0;
                    }
                    foreach (var batch in loader) Step(batch);
                    yield return 1;
                }
            """));
    }

    [Fact]
    public async Task Unseeded_unshuffled_or_null_seeded_loaders_are_not_flagged()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                void Train(int? maybeSeed, bool shuffle)
                {
                    var a = torch.utils.data.DataLoader(data, 32, shuffle: true);
                    var b = torch.utils.data.DataLoader(data, 32, shuffle: false, seed: 3);
                    var c = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: null);
                    var d = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: maybeSeed);
                    var e = torch.utils.data.DataLoader(data, 32, shuffle: shuffle, seed: 3);
                    for (int epoch = 0; epoch < 10; epoch++)
                    {
                        foreach (var batch in a) Step(batch);
                        foreach (var batch in b) Step(batch);
                        foreach (var batch in c) Step(batch);
                        foreach (var batch in d) Step(batch);
                        foreach (var batch in e) Step(batch);
                    }
                }
            """));
    }

    [Fact]
    public async Task Seed_that_changes_every_epoch_and_per_fold_datasets_are_not_flagged()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                sealed class Run { public torch.utils.data.IterableDataset Data = data; }
                Run[] runs = [];
                void Train(int baseSeed, List<torch.utils.data.IterableDataset> folds)
                {
                    for (int epoch = 0; epoch < 10; epoch++)
                    {
                        using var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: baseSeed + epoch);
                        foreach (var batch in loader) Step(batch);
                    }
                    foreach (var fold in folds)
                    {
                        using var loader = torch.utils.data.DataLoader(fold, 32, shuffle: true, seed: 3);
                        foreach (var batch in loader) Step(batch);
                    }
                    for (int i = 0; i < runs.Length; i++)
                    {
                        using var loader = torch.utils.data.DataLoader(runs[i].Data, 32, shuffle: true, seed: 3);
                        foreach (var batch in loader) Step(batch);
                    }
                }
            """));
    }

    [Fact]
    public async Task Shuffler_overload_is_not_flagged()
    {
        await VerifyBG0009.Diagnostics(Trainer("""
                void Train(IEnumerable<long> order)
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffler: order);
                    for (int epoch = 0; epoch < 10; epoch++)
                        foreach (var batch in loader) Step(batch);
                }
            """));
    }

    [Fact]
    public async Task Incomplete_code_does_not_crash_the_analyzer()
    {
        var test = new VerifyBG0009.Test
        {
            TestCode = Trainer("""
                void Train()
                {
                    var loader = torch.utils.data.DataLoader(data, 32, shuffle: true, seed: );
                    var other = torch.utils.data.DataLoader(data, shuffle: true, seed: 3, 
                    for (int epoch = 0; epoch < 10; epoch++)
                        foreach (var batch in loader) Step(batch);
                    var third = new IterableDataLoader(unknown, 32, true, null, 3);
                }
            """),
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        await test.RunAsync();
    }

    // ---- Code fixes: with the BatchGuard runtime referenced, an EpochShuffler; without it, remove the seed ----

    /// <summary>The real BatchGuard runtime assembly (src/BatchGuard), as a user referencing the package has it.</summary>
    private static readonly MetadataReference BatchGuardRuntime =
        MetadataReference.CreateFromFile(typeof(BatchGuard.Data.EpochShuffler).Assembly.Location);

    private const string FixHeader = """
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
        await RunWithRuntime(TestReferences.Usings + FixHeader + """
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
            WithRuntimeUsing(TestReferences.Usings) + FixHeader + """
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
        await RunWithRuntime(TestReferences.Usings + FixHeader + """
                IterableDataLoader Create(int seed) => new IterableDataLoader(data, 32, true, CPU, {|BG0009:seed|}, 2, true);
            }
            """,
            WithRuntimeUsing(TestReferences.Usings) + FixHeader + """
                IterableDataLoader Create(int seed) => new IterableDataLoader(data, 32, new EpochShuffler(data.Count, seed: seed), CPU, 2, true);
            }
            """);
    }

    [Fact]
    public async Task With_the_runtime_the_seed_expression_keeps_its_casts_except_to_nullable()
    {
        await RunWithRuntime(TestReferences.Usings + FixHeader + """
                static long configuredSeed = 9;
                IterableDataLoader a = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: (int)configuredSeed|});
                IterableDataLoader b = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: (int?)3|});
            }
            """,
            WithRuntimeUsing(TestReferences.Usings) + FixHeader + """
                static long configuredSeed = 9;
                IterableDataLoader a = torch.utils.data.DataLoader(data, 32, shuffler: new EpochShuffler(data.Count, seed: (int)configuredSeed));
                IterableDataLoader b = torch.utils.data.DataLoader(data, 32, shuffler: new EpochShuffler(data.Count, seed: 3));
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
        await RunWithRuntime(TestReferences.Usings + FixHeader + """
                IterableDataLoader train = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 1|});
                IterableDataLoader valid = torch.utils.data.DataLoader(data, 64, shuffle: true, {|BG0009:seed: 2|}, drop_last: false);
            }
            """,
            WithRuntimeUsing(TestReferences.Usings) + FixHeader + """
                IterableDataLoader train = torch.utils.data.DataLoader(data, 32, shuffler: new EpochShuffler(data.Count, seed: 1));
                IterableDataLoader valid = torch.utils.data.DataLoader(data, 64, shuffler: new EpochShuffler(data.Count, seed: 2), drop_last: false);
            }
            """);
    }

    [Fact]
    public async Task Without_the_runtime_the_seed_is_removed()
    {
        await VerifyFix.Fix(TestReferences.Usings + FixHeader + """
                IterableDataLoader train = torch.utils.data.DataLoader(data, 32, shuffle: true, {|BG0009:seed: 1|});
                IterableDataLoader valid = torch.utils.data.DataLoader(data, 64, shuffle: true, {|BG0009:seed: 2|}, drop_last: true);
            }
            """,
            TestReferences.Usings + FixHeader + """
                IterableDataLoader train = torch.utils.data.DataLoader(data, 32, shuffle: true);
                IterableDataLoader valid = torch.utils.data.DataLoader(data, 64, shuffle: true, drop_last: true);
            }
            """, SeededShuffleCodeFix.RemoveSeed);
    }

    [Fact]
    public async Task Removing_a_positional_seed_names_the_positional_arguments_after_it()
    {
        await VerifyFix.Fix(TestReferences.Usings + FixHeader + """
                IterableDataLoader Create() => new IterableDataLoader(data, 32, true, CPU, {|BG0009:{|BG0010:3|}|}, 2, true);
            }
            """,
            TestReferences.Usings + FixHeader + """
                IterableDataLoader Create() => new IterableDataLoader(data, 32, true, CPU, num_worker: 2, drop_last: true);
            }
            """, SeededShuffleCodeFix.RemoveSeed);
    }

    [Fact]
    public async Task With_the_runtime_a_dataset_expression_that_cannot_be_read_twice_gets_the_seed_removed()
    {
        await RunWithRuntime(TestReferences.Usings + FixHeader + """
                IterableDataLoader train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 32, shuffle: true, {|BG0009:seed: 1|});
            }
            """,
            TestReferences.Usings + FixHeader + """
                IterableDataLoader train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 32, shuffle: true);
            }
            """, SeededShuffleCodeFix.RemoveSeed);
    }
}
