using BatchGuard.Analyzers.BatchDegree;
using BatchGuard.Analyzers.Tests.Infrastructure;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.BatchDegree;

/// <summary>
/// The batch-degree rules on code a user may have open mid-edit, and in projects without TorchSharp: never an analyzer
/// exception (AD0001; the tests rethrow them), never a guess.
/// </summary>
public sealed class RobustnessTests
{
    private const string BrokenTraining = """
        class Trainer
        {
            Tensor Helper(Tensor p) => Helper(p) / p.shape[0];

            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                var loader = torch.utils.data.DataLoader(train, , shuffle: true, drop_last: );
                var other = new DataLoader(undefinedDataset, 16);
                foreach (var b in loader)
                {
                    var (x, y) = (b["x"], b["y"]);
                    var pred = net.forward(x;
                    var loss = F.mse_loss(pred, y) / missing.shape[0] / b["x"].shape[];
                    loss /= ;
                    loss = Helper(loss) + unknownCall(pred).sum() / BatchSize;
                    Func<Tensor, Tensor> f = t => f(t) / t.size(0);
                    f(loss).backward();
                    undefined.backward();
                    optimizer.step();
                }
                foreach (var c in other) { c["x"].mean().div().backward(); optimizer.step(); }
            }
        }
        """;

    /// <summary>Runs the analyzer on code that does not compile; returns its diagnostics, failing on any analyzer exception.</summary>
    private static async Task<ImmutableArray<Diagnostic>> RunOnBrokenCode<TAnalyzer>() where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var references = await TestReferences.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None);
        var compilation = CSharpCompilation.Create("Broken",
            new[] { CSharpSyntaxTree.ParseText(TestReferences.Usings + BrokenTraining, path: "Broken.cs") },
            references.Add(TestReferences.TorchSharp), new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Contains(compilation.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
        var failures = new List<Exception>();
        var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
            (exception, _, _) => failures.Add(exception), concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        var diagnostics = await compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new TAnalyzer()), options)
            .GetAnalyzerDiagnosticsAsync();
        Assert.Empty(failures);
        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
        return diagnostics;
    }

    [Fact]
    public async Task Batch_degree_rules_do_not_fail_on_broken_and_recursive_code()
    {
        var diagnostics = await RunOnBrokenCode<BatchDegreeAnalyzer>();
        // Only the intact `F.mse_loss(pred, y) / ... / b["x"].shape[]` chain is judgeable; nothing is guessed elsewhere.
        Assert.All(diagnostics, d => Assert.StartsWith("BG000", d.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Recursive_helpers_and_self_referencing_locals_terminate_without_findings()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                static Tensor Ping(Tensor t, int n) => n == 0 ? t : Pong(t, n - 1);
                static Tensor Pong(Tensor t, int n) => Ping(t, n) / t.shape[0];

                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    foreach (var b in torch.utils.data.DataLoader(train, 16, drop_last: true))
                    {
                        var loss = F.mse_loss(net.forward(b["x"]), b["y"]);
                        loss = loss + loss * 0.5f;
                        Ping(loss, 3).backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await Verify<BatchDegreeAnalyzer>.Diagnostics(source);
    }

    // A field written from itself (an incremental running mean of the loss) is a cycle. Followed without a memo,
    // every write that names the field twice doubled the work per level, and the build hung. The timeout turns a
    // regression into a failure instead of a stuck CI job.
    [Fact(Timeout = 120_000)]
    public async Task Fields_written_from_themselves_or_each_other_terminate_without_findings()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                Tensor _ema = torch.ones(1);
                Tensor _a = torch.ones(1), _c = torch.ones(1);

                void ResetEpoch() => _ema = _ema.detach();

                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    foreach (var b in torch.utils.data.DataLoader(train, 16, drop_last: true))
                    {
                        var raw = F.mse_loss(net.forward(b["x"]), b["y"]);
                        _ema = _ema + (raw.detach() - _ema) * 0.01;
                        _a = _a * 2 + _c;
                        _c = _c * 2 + _a;
                        (raw / _ema + raw / _a).backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await Verify<BatchDegreeAnalyzer>.Diagnostics(source).WaitAsync(TimeSpan.FromSeconds(110));
    }

    [Fact]
    public async Task A_property_whose_name_a_field_initializer_mentions_does_not_break_the_compilation_end_pass()
    {
        // The field initializer mentions "Criterion": looking up the property's writes met a field initializer and cast
        // the property to a field. In a build the exception was swallowed and every
        // compilation-end diagnostic of the project was lost.
        string source = TestReferences.Usings + """
            class Trainer
            {
                private readonly DataLoader _train;
                private static readonly string[] Logged = { "Criterion" };
                public nn.Module<Tensor, Tensor, Tensor> Criterion { get; set; } = nn.MSELoss();
                private readonly nn.Module<Tensor, Tensor> _net = nn.Linear(4, 1);

                Trainer(torch.utils.data.Dataset data) => _train = {|BG0001:torch.utils.data.DataLoader(data, 32, shuffle: true)|};

                void Epoch(optim.Optimizer optimizer)
                {
                    foreach (var batch in _train)
                    {
                        var loss = {|BG0004:Criterion.forward(_net.forward(batch["x"]), batch["y"]) / batch["y"].size(0)|};
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await Verify<BatchDegreeAnalyzer>.Diagnostics(source);
    }

    /// <summary>Runs the batch-degree analyzer on one file, failing on any analyzer exception, within a time limit that turns a hang into a failure.</summary>
    private static async Task AnalyzeWithin(TimeSpan limit, string source)
    {
        var references = await TestReferences.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None);
        var compilation = CSharpCompilation.Create("Probe", new[] { CSharpSyntaxTree.ParseText(TestReferences.Usings + source, path: "Probe.cs") },
            references.Add(TestReferences.TorchSharp), new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var failures = new List<Exception>();
        var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
            (exception, _, _) => failures.Add(exception), concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        await compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new BatchDegreeAnalyzer()), options)
            .GetAnalyzerDiagnosticsAsync().WaitAsync(limit);
        Assert.Empty(failures);
    }

    // A declaration whose name is not typed yet has a local named "": searching the text for "" never advanced, and the
    // analyzer filled memory until the process died.
    [Fact(Timeout = 120_000)]
    public async Task A_local_whose_name_is_not_typed_yet_does_not_hang_the_analyzer()
    {
        await AnalyzeWithin(TimeSpan.FromSeconds(110), """
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true))
                    {
                        long  = b[0].shape[0];
                        var loss = (net.forward(b[0]) - b[1]).abs().sum() / 16;
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    // Whether a setting named like the batch size holds a batch's actual size is judged once per backward(): each write
    // (or call site) that read the setting again used to judge it again, one level deeper, about k^6 times in all.
    [Theory(Timeout = 120_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Settings_named_like_the_batch_size_that_read_themselves_are_judged_once(bool member)
    {
        var writes = string.Concat(Enumerable.Range(0, 24).Select(i => $"            if (flag{i % 2}) _batchSize = _batchSize * 2;\n"));
        var calls = string.Concat(Enumerable.Range(0, 40).Select(i => $"        if (x.shape[0] > {i + 1}) Fit(net, optimizer, x, y, batchSize);\n"));
        await AnalyzeWithin(TimeSpan.FromSeconds(110), member
            ? $$"""
                class Trainer
                {
                    int _batchSize = 16;
                    bool flag0, flag1;
                    void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer)
                    {
                        var data = torch.utils.data.TensorDataset(randn(1000, 4), randn(1000, 1));
                        for (int epoch = 0; epoch < 10; epoch++)
                        {
                            foreach (var b in torch.utils.data.DataLoader(data, 16, drop_last: true))
                            {
                                var loss = (net.forward(b[0]) - b[1]).abs().sum() / _batchSize;
                                loss.backward();
                                optimizer.step();
                            }
                {{writes}}
                        }
                    }
                }
                """
            : $$"""
                class Trainer
                {
                    void Fit(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, Tensor x, Tensor y, int batchSize)
                    {
                        var loss = (net.forward(x) - y).abs().sum() / batchSize;
                        loss.backward();
                        optimizer.step();
                {{calls}}
                    }
                }
                """);
    }

    [Fact]
    public async Task A_very_long_chain_of_locals_is_abandoned_not_followed_to_the_end()
    {
        var chain = string.Join("\n", Enumerable.Range(1, 600).Select(i => $"            var l{i} = l{i - 1} * 1.0f;"));
        string source = TestReferences.Usings + $$"""
            class Trainer
            {
                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    foreach (var b in torch.utils.data.DataLoader(train, 16, drop_last: true))
                    {
                        var l0 = F.mse_loss(net.forward(b["x"]), b["y"]);
            {{chain}}
                        (l600 / b["x"].shape[0]).backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await Verify<BatchDegreeAnalyzer>.Diagnostics(source);
    }

    [Fact]
    public async Task Compilation_without_TorchSharp_costs_nothing_and_reports_nothing()
    {
        const string source = """
            class DataLoader { public DataLoader(int batchSize, bool drop_last = false) { } }
            class Tensor { public Tensor mean() => this; public long[] shape = { 1 }; public void backward() { }
                public static Tensor operator /(Tensor t, long d) => t; }
            class Trainer
            {
                void Train()
                {
                    var loader = new DataLoader(16);
                    var loss = new Tensor().mean() / new Tensor().shape[0];
                    loss.backward();
                }
            }
            """;
        await new Microsoft.CodeAnalysis.CSharp.Testing.CSharpAnalyzerTest<BatchDegreeAnalyzer, DefaultVerifier>
            { TestCode = source, ReferenceAssemblies = TestReferences.Net80 }.RunAsync();
    }
}
