using System.Collections.Immutable;
using BatchGuard.Analyzers.BatchDegree;
using BatchGuard.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BatchGuard.Analyzers.Tests.BatchDegree;

/// <summary>
/// What the IDE shows while the user types: it analyses the open document (semantic diagnostics of one tree) and runs
/// no compilation-end action unless full-solution analysis is on. BG0001 and BG0003-BG0005 that one method proves by
/// itself must appear there; what needs the rest of the compilation appears in the build (compilation end) only, and
/// every diagnostic is reported exactly once either way.
/// </summary>
public sealed class AsYouTypeTests
{
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

    /// <summary>The example, all in one method: loader, custom loss (declared in another file), the division.</summary>
    private const string OneMethod = """
        class Trainer
        {
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train, int batchSize)
            {
                var criterion = new MatchedL1();
                var dl = torch.utils.data.DataLoader(train, batchSize, shuffle: true);
                foreach (var b in dl)
                {
                    var boxes = b["boxes"];
                    var perBatch = criterion.forward(net.forward(b["img"]), boxes);
                    var loss = perBatch / boxes.shape[0];
                    var l1 = (net.forward(b["img"]) - boxes).abs().sum() / batchSize;
                    var positives = (boxes > 0).sum();
                    var conf = (net.forward(b["img"]) * (boxes > 0)).sum() / positives;
                    optimizer.zero_grad();
                    (loss + l1 + conf).backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task Findings_one_method_proves_appear_in_the_open_document()
    {
        var run = await Analyze(("Trainer.cs", OneMethod), ("MatchedL1.cs", MatchedL1));

        var typed = await run.OpenDocument("Trainer.cs");
        Assert.Equal(new[] { "BG0001 torch.utils.data.DataLoader(train, batchSize, shuffle: true)", "BG0004 perBatch / boxes.shape[0]",
                "BG0003 (net.forward(b[\"img\"]) - boxes).abs().sum() / batchSize", "BG0005 (net.forward(b[\"img\"]) * (boxes > 0)).sum() / positives" },
            typed.Select(Describe));
        Assert.Empty(await run.OpenDocument("MatchedL1.cs"));
        // The build reports the same four, each once.
        Assert.Equal(typed.Select(Describe), (await run.Build()).Select(Describe));
    }

    /// <summary>A loader kept in a field may be created with drop_last anywhere: only the whole compilation can tell.</summary>
    private const string LoaderInAField = """
        class Trainer
        {
            private readonly DataLoader _loader;
            private readonly nn.Module<Tensor, Tensor> _net = nn.Linear(4, 1);

            public Trainer(torch.utils.data.Dataset train, int batchSize) => _loader = torch.utils.data.DataLoader(train, batchSize, shuffle: true, drop_last: DROP_LAST);

            void Train(optim.Optimizer optimizer, int batchSize)
            {
                foreach (var b in _loader)
                {
                    var loss = (_net.forward(b["x"]) - b["y"]).abs().sum() / batchSize;
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task A_loss_that_depends_on_a_field_loader_waits_for_the_build()
    {
        var run = await Analyze(("Trainer.cs", LoaderInAField.Replace("DROP_LAST", "false")));

        Assert.Empty(await run.OpenDocument("Trainer.cs"));
        Assert.Equal(new[] { "BG0001 torch.utils.data.DataLoader(train, batchSize, shuffle: true, drop_last: false)",
                "BG0003 (_net.forward(b[\"x\"]) - b[\"y\"]).abs().sum() / batchSize" },
            (await run.Build()).Select(Describe));
    }

    [Fact]
    public async Task Facts_outside_the_method_that_clear_a_loss_are_never_overruled_as_you_type()
    {
        // With drop_last: true every batch is full and the division by the nominal size is exact. The method alone
        // cannot see that, so it must not claim BG0003.
        var run = await Analyze(("Trainer.cs", LoaderInAField.Replace("DROP_LAST", "true")));

        Assert.Empty(await run.OpenDocument("Trainer.cs"));
        Assert.Empty(await run.Build());
    }

    private const string HelperCaller = """
        class Trainer
        {
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                foreach (var b in torch.utils.data.DataLoader(train, 16, drop_last: true))
                {
                    var loss = Losses.PerSample(net.forward(b["x"]), b["y"]);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    private const string Helper = """
        static class Losses
        {
            public static Tensor PerSample(Tensor pred, Tensor y) => F.mse_loss(pred, y) / pred.shape[0];
        }
        """;

    [Fact]
    public async Task A_finding_in_another_file_is_reported_there_by_the_build_once()
    {
        var run = await Analyze(("Trainer.cs", HelperCaller), ("Losses.cs", Helper));

        Assert.Empty(await run.OpenDocument("Trainer.cs"));
        Assert.Empty(await run.OpenDocument("Losses.cs"));
        var built = await run.Build();
        Assert.Equal(new[] { "BG0004 F.mse_loss(pred, y) / pred.shape[0]" }, built.Select(Describe));
        Assert.Equal("Losses.cs", built[0].Location.SourceTree!.FilePath);
    }

    [Fact]
    public async Task A_division_in_generated_code_is_never_reported()
    {
        // Generated code is not analysed, and the analyzers tell the compiler their diagnostics never land in it.
        var run = await Analyze(("Trainer.cs", HelperCaller), ("Losses.g.cs", Helper));

        Assert.Empty(await run.OpenDocument("Trainer.cs"));
        Assert.Empty(await run.Build());
    }

    [Fact]
    public async Task A_loader_read_outside_its_loops_gets_BG0001_from_the_build_only()
    {
        // The loader escapes to a helper that could skip short batches: the method alone cannot clear or claim it.
        var source = OneMethod.Replace("foreach (var b in dl)", "Inspect(dl);\n        foreach (var b in dl)")
            .Replace("class Trainer\n{", "class Trainer\n{\n    static void Inspect(DataLoader loader) { }");
        var run = await Analyze(("Trainer.cs", source), ("MatchedL1.cs", MatchedL1));

        var typed = await run.OpenDocument("Trainer.cs");
        Assert.DoesNotContain(typed, d => d.Id == "BG0001");
        Assert.Contains(typed, d => d.Id == "BG0004");
        var built = await run.Build();
        Assert.Single(built, d => d.Id == "BG0001");
        Assert.Single(built, d => d.Id == "BG0004");
    }

    [Fact]
    public async Task A_tensor_read_from_a_library_collection_keeps_the_finding_as_you_type()
    {
        // penalties[0] is a List<Tensor> indexer: no write of the user's code can tell its value, so looking for
        // writes to it (which only the whole compilation has) would only have held the finding back until the build.
        var source = OneMethod
            .Replace("var dl = ", "var penalties = new List<Tensor> { zeros(1) };\n        var dl = ")
            .Replace("(loss + l1 + conf).backward();", "(l1 + penalties[0]).backward();");
        var run = await Analyze(("Trainer.cs", source), ("MatchedL1.cs", MatchedL1));

        var typed = await run.OpenDocument("Trainer.cs");
        Assert.Contains(typed, d => d.Id == "BG0003");
        Assert.Equal(typed.Select(Describe), (await run.Build()).Select(Describe));
    }

    private static string Describe(Diagnostic diagnostic) =>
        $"{diagnostic.Id} {diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan)}";

    private static async Task<AnalysisRun> Analyze(params (string Path, string Source)[] files)
    {
        var references = await TestReferences.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None);
        var compilation = CSharpCompilation.Create("Typed",
            files.Select(f => CSharpSyntaxTree.ParseText(TestReferences.Usings + f.Source, path: f.Path)),
            references.Add(TestReferences.TorchSharp), new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        return new AnalysisRun(compilation);
    }

    private sealed class AnalysisRun(Compilation compilation)
    {
        private static readonly ImmutableArray<DiagnosticAnalyzer> Analyzers =
            ImmutableArray.Create<DiagnosticAnalyzer>(new BatchDegreeAnalyzer());

        private CompilationWithAnalyzers Fresh() => compilation.WithAnalyzers(Analyzers,
            new CompilationWithAnalyzersOptions(new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), null,
                concurrentAnalysis: true, logAnalyzerExecutionTime: false));

        /// <summary>The IDE's document pass: operation and symbol actions of one tree, no compilation end.</summary>
        public async Task<ImmutableArray<Diagnostic>> OpenDocument(string path)
        {
            var tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
            var diagnostics = await Fresh().GetAnalyzerSemanticDiagnosticsAsync(compilation.GetSemanticModel(tree), null, CancellationToken.None);
            return Sorted(diagnostics.Where(d => d.Id.StartsWith("BG", StringComparison.Ordinal)));
        }

        /// <summary>The build: every action, compilation end included.</summary>
        public async Task<ImmutableArray<Diagnostic>> Build() =>
            Sorted((await Fresh().GetAnalyzerDiagnosticsAsync()).Where(d => d.Id.StartsWith("BG", StringComparison.Ordinal)));

        private static ImmutableArray<Diagnostic> Sorted(IEnumerable<Diagnostic> diagnostics) =>
            diagnostics.Where(d => d.Id != "BG0002")
                .OrderBy(d => d.Location.SourceTree!.FilePath, StringComparer.Ordinal).ThenBy(d => d.Location.SourceSpan.Start).ToImmutableArray();
    }
}
