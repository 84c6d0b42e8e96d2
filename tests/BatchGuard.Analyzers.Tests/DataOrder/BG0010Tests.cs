using BatchGuard.Analyzers.CodeFixes;
using BatchGuard.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;
using VerifyBG0010 = BatchGuard.Analyzers.Tests.Infrastructure.Verify<BatchGuard.Analyzers.DataLoaderOrderAnalyzer>;
using VerifyFix = BatchGuard.Analyzers.Tests.Infrastructure.Verify<BatchGuard.Analyzers.DataLoaderOrderAnalyzer, BatchGuard.Analyzers.CodeFixes.PositionalArgumentCodeFix>;

namespace BatchGuard.Analyzers.Tests.DataOrder;

/// <summary>
/// BG0010: in the shuffle overloads the slot after device is <c>int? seed</c>, in the shuffler overloads it is
/// <c>int num_worker</c>; a positional argument there is easy to misread.
/// </summary>
public sealed class BG0010Tests
{
    private static string Code(string members) => TestReferences.Usings + """
        class Trainer
        {
            static torch.utils.data.IterableDataset data = torch.utils.data.TensorDataset(randn(100, 4), randn(100, 1));

        """ + members + """

        }
        """;

    [Fact]
    public async Task Worker_count_passed_positionally_into_seed_is_flagged_with_both_parameter_names()
    {
        await VerifyBG0010.Diagnostics(Code("""
                IterableDataLoader Create(int numWorkers) => torch.utils.data.DataLoader(data, 32, false, CPU, {|#0:numWorkers|});
            """),
            VerifyBG0010.Diagnostic("BG0010").WithLocation(0).WithArguments("numWorkers", "seed", "num_worker"));
    }

    [Fact]
    public async Task Worker_and_thread_counts_from_any_origin_are_flagged()
    {
        await VerifyBG0010.Diagnostics(Code("""
                static int NUM_WORKERS = 4;
                int Threads { get; } = 2;
                void Create(TorchSharp.torch.Device device)
                {
                    var a = torch.utils.data.DataLoader(data, 32, true, device, {|BG0010:NUM_WORKERS|});
                    var b = new IterableDataLoader(data, 32, false, device, {|BG0010:Threads|});
                    var c = new IterableDataLoader(data, 32, false, device, {|BG0010:Environment.ProcessorCount|});
                    var d = new IterableDataLoader(data, 32, false, device, {|BG0010:Math.Max(1, NUM_WORKERS / 2)|});
                }
            """));
    }

    [Fact]
    public async Task Loader_type_renamed_by_a_using_alias_is_still_checked()
    {
        // The creation's text never says DataLoader: the alias turns the analyzer's text test off for the file.
        await VerifyBG0010.Diagnostics("using Loader = TorchSharp.Modules.IterableDataLoader;\n" + TestReferences.Usings + """
            class Factory
            {
                Loader Create(torch.utils.data.IterableDataset data, int workers) => new Loader(data, 32, false, CPU, {|BG0010:workers|});
            }
            """);
    }

    [Fact]
    public async Task Subclass_passing_its_worker_count_to_base_positionally_is_flagged()
    {
        await VerifyBG0010.Diagnostics(TestReferences.Usings + """
            class CsvLoader : DataLoader
            {
                public CsvLoader(torch.utils.data.Dataset dataset, int batchSize, bool shuffle, Device device, int num_workers)
                    : base(dataset, batchSize, shuffle, device, {|BG0010:num_workers|}) { }
            }
            """);
    }

    [Fact]
    public async Task Generic_loader_with_a_collate_function_is_checked_one_slot_later()
    {
        await VerifyBG0010.Diagnostics(TestReferences.Usings + """
            class Rows : torch.utils.data.Dataset<long>
            {
                public override long Count => 10;
                public override long GetTensor(long index) => index;
            }
            class Trainer
            {
                static Tensor Collate(IEnumerable<long> rows, Device device) => tensor(rows.ToArray(), device: device);
                DataLoader<long, Tensor> Create(int workers) => new DataLoader<long, Tensor>(new Rows(), 4, Collate, false, CPU, {|#0:workers|});
                DataLoader<long, Tensor> Named(int workers) => new DataLoader<long, Tensor>(new Rows(), 4, Collate, true, CPU, num_worker: workers);
            }
            """,
            VerifyBG0010.Diagnostic("BG0010").WithLocation(0).WithArguments("workers", "seed", "num_worker"));
    }

    [Fact]
    public async Task Ambiguous_positional_integer_in_the_seed_slot_is_flagged()
    {
        await VerifyBG0010.Diagnostics(Code("""
                IterableDataLoader Create() => torch.utils.data.DataLoader(data, 32, false, CPU, {|BG0010:4|});
            """));
    }

    [Fact]
    public async Task Seed_passed_positionally_into_num_worker_of_the_shuffler_overload_is_flagged()
    {
        await VerifyBG0010.Diagnostics(Code("""
                IterableDataLoader Create(IEnumerable<long> order, int seed) => torch.utils.data.DataLoader(data, 32, order, CPU, {|#0:seed|});
            """),
            VerifyBG0010.Diagnostic("BG0010").WithLocation(0).WithArguments("seed", "num_worker", "seed"));
    }

    [Fact]
    public async Task Arguments_that_clearly_are_what_they_bind_to_are_not_flagged()
    {
        await VerifyBG0010.Diagnostics(Code("""
                void Create(int seed, int? maybeSeed, int randomSeed, int workers, IEnumerable<long> order, int workerSeed, int baseSeed)
                {
                    // A seed whose name also mentions workers or threads is still a seed; so is an explicit int?.
                    var g = torch.utils.data.DataLoader(data, 32, true, CPU, workerSeed);
                    var h = torch.utils.data.DataLoader(data, 32, true, CPU, baseSeed + Environment.CurrentManagedThreadId);
                    var i = torch.utils.data.DataLoader(data, 32, true, CPU, (int?)42);
                    var a = torch.utils.data.DataLoader(data, 32, true, CPU, null);
                    var b = torch.utils.data.DataLoader(data, 32, true, CPU, seed);
                    var c = torch.utils.data.DataLoader(data, 32, true, CPU, maybeSeed);
                    var d = torch.utils.data.DataLoader(data, 32, true, CPU, randomSeed + 1);
                    var e = torch.utils.data.DataLoader(data, 32, order, CPU, workers);
                    var f = torch.utils.data.DataLoader(data, 32, order, CPU, 4);
                }
            """));
    }

    [Fact]
    public async Task Named_arguments_and_calls_that_stop_before_the_slot_are_not_flagged()
    {
        await VerifyBG0010.Diagnostics(Code("""
                void Create(int workers)
                {
                    var a = torch.utils.data.DataLoader(data, 32, true, CPU, num_worker: workers);
                    var b = torch.utils.data.DataLoader(data, 32, true, CPU, seed: 4, num_worker: workers);
                    var c = torch.utils.data.DataLoader(data, 32, true, CPU);
                    var d = new IterableDataLoader(data, 32, shuffle: false, device: CPU, seed: workers);
                }
            """));
    }

    [Fact]
    public async Task Fix_names_a_worker_count_as_num_worker()
    {
        await VerifyFix.Fix(Code("""
                IterableDataLoader Create(int numWorkers) => torch.utils.data.DataLoader(data, 32, false, CPU, /* workers */ {|BG0010:numWorkers|}, drop_last: true);
                IterableDataLoader CreateToo(int numWorkers) => new IterableDataLoader(data, 32, false, CPU, {|BG0010:numWorkers|});
            """),
            Code("""
                IterableDataLoader Create(int numWorkers) => torch.utils.data.DataLoader(data, 32, false, CPU, /* workers */ num_worker: numWorkers, drop_last: true);
                IterableDataLoader CreateToo(int numWorkers) => new IterableDataLoader(data, 32, false, CPU, num_worker: numWorkers);
            """), PositionalArgumentCodeFix.NameAsNumWorker);
    }

    [Fact]
    public async Task Fix_can_name_an_ambiguous_integer_as_seed_keeping_behaviour()
    {
        await VerifyFix.Fix(Code("""
                IterableDataLoader Create() => torch.utils.data.DataLoader(data, 32, false, CPU, {|BG0010:4|}, 2);
            """),
            Code("""
                IterableDataLoader Create() => torch.utils.data.DataLoader(data, 32, false, CPU, seed: 4, 2);
            """), PositionalArgumentCodeFix.NameAsSeed);
    }

    [Fact]
    public async Task Fix_can_name_an_ambiguous_integer_as_num_worker()
    {
        await VerifyFix.Fix(Code("""
                IterableDataLoader Create() => torch.utils.data.DataLoader(data, 32, false, CPU, {|BG0010:4|});
            """),
            Code("""
                IterableDataLoader Create() => torch.utils.data.DataLoader(data, 32, false, CPU, num_worker: 4);
            """), PositionalArgumentCodeFix.NameAsNumWorker);
    }

    [Fact]
    public async Task No_num_worker_fix_when_num_worker_is_already_passed_or_positional_arguments_follow()
    {
        // Only "seed:" is offered here; asking for num_worker: leaves the code unchanged.
        string source = Code("""
                IterableDataLoader Create(int workers) => torch.utils.data.DataLoader(data, 32, false, CPU, {|BG0010:workers|}, 2);
                IterableDataLoader CreateToo(int workers) => torch.utils.data.DataLoader(data, 32, false, CPU, {|BG0010:workers|}, num_worker: 2);
            """);
        var test = new VerifyFix.Test
        {
            TestCode = source,
            FixedCode = source,
            BatchFixedCode = source,
            CodeActionEquivalenceKey = PositionalArgumentCodeFix.NameAsNumWorker,
        };
        await test.RunAsync();
    }

    [Fact]
    public async Task Incomplete_code_does_not_crash_the_analyzer_or_the_fix()
    {
        var test = new VerifyBG0010.Test
        {
            TestCode = Code("""
                    IterableDataLoader A(int workers) => torch.utils.data.DataLoader(data, 32, false, CPU, workers
                    IterableDataLoader B(int workers) => torch.utils.data.DataLoader(undefined, 32, false, CPU, workers);
                    IterableDataLoader C(int workers) => new IterableDataLoader(data, 32, false, , workers);
                """),
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        test.ExpectedDiagnostics.Clear();
        await test.RunAsync();
    }
}
