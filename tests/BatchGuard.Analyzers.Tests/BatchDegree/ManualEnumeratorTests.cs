using BatchGuard.Analyzers.BatchDegree;
using BatchGuard.Analyzers.Tests.Infrastructure;

namespace BatchGuard.Analyzers.Tests.BatchDegree;

using VerifyAll = Verify<BatchDegreeAnalyzer>;

/// <summary>
/// A training loop that reads its batches by hand (<c>using var e = loader.GetEnumerator(); while (e.MoveNext())</c>,
/// <c>e.Current["x"]</c>) is followed like a foreach over the loader: BG0003/BG0004 in it, BG0001 on its loader, and
/// the same silences (drop_last, a loop that skips short batches).
/// </summary>
public sealed class ManualEnumeratorTests
{
    private static string Train(string lossExpression, string loaderArguments = "BatchSize, shuffle: true", string skip = "") => TestReferences.Usings + $$"""
        class Trainer
        {
            const int BatchSize = 32;

            void Train(nn.Module<Tensor, Tensor> model, torch.utils.data.Dataset data)
            {
                var optimizer = optim.SGD(model.parameters(), 0.1);
                var loader = LOADER;
                using var batches = loader.GetEnumerator();
                while (batches.MoveNext())
                {
                    var x = batches.Current["x"];
                    var y = batches.Current["y"];{{skip}}
                    var loss = {{lossExpression}};
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """.Replace("LOADER", "torch.utils.data.DataLoader(data, " + loaderArguments + ")");

    private const string SumOverNominal = "F.mse_loss(model.forward(x), y, reduction: nn.Reduction.Sum) / BatchSize";
    private const string MeanOverActual = "F.mse_loss(model.forward(x), y) / x.shape[0]";
    private const string Skip = "\n            if (x.shape[0] < BatchSize) continue;";

    [Fact]
    public async Task Sum_over_the_nominal_batch_size_is_reported_with_the_loaders_BG0001()
    {
        await VerifyAll.Diagnostics(Train("{|BG0003:" + SumOverNominal + "|}")
            .Replace("var loader = torch", "var loader = {|BG0001:torch").Replace("shuffle: true)", "shuffle: true)|}"));
    }

    [Fact]
    public async Task Second_normalisation_is_reported_with_the_loaders_BG0001()
    {
        await VerifyAll.Diagnostics(Train("{|BG0004:" + MeanOverActual + "|}")
            .Replace("var loader = torch", "var loader = {|BG0001:torch").Replace("shuffle: true)", "shuffle: true)|}"));
    }

    [Fact]
    public async Task A_loader_with_drop_last_gives_full_batches()
    {
        await VerifyAll.Diagnostics(Train(SumOverNominal, "BatchSize, shuffle: true, drop_last: true"));
    }

    [Fact]
    public async Task A_loop_that_skips_short_batches_clears_BG0003_and_the_loaders_BG0001()
    {
        // The double normalisation is still wrong, but no short batch reaches it: BG0004 without BG0001. The loader's
        // Info (BG0002) stays: the loader itself still yields a short batch.
        await VerifyAll.Diagnostics(Train(SumOverNominal, skip: Skip)
            .Replace("var loader = torch", "var loader = {|BG0002:torch").Replace("shuffle: true)", "shuffle: true)|}"));
        await VerifyAll.Diagnostics(Train("{|BG0004:" + MeanOverActual + "|}", skip: Skip)
            .Replace("var loader = torch", "var loader = {|BG0002:torch").Replace("shuffle: true)", "shuffle: true)|}"));
    }

    [Theory]
    [InlineData("while (batches.MoveNext() && step++ < 1000)")]
    [InlineData("for (; step < 1000 && batches.MoveNext(); step++)")]
    [InlineData("while (true)")]
    public async Task Batches_read_in_any_other_loop_shape_are_not_claimed(string loop)
    {
        // The loader has drop_last: true, which only a recognised loader loop (while (e.MoveNext())) brings to the loss:
        // a batch read in any other shape has no batch degree, rather than one whose loader is unknown.
        var source = Train(SumOverNominal, "BatchSize, shuffle: true, drop_last: true")
            .Replace("using var batches", "var step = 0;\n        using var batches")
            .Replace("while (batches.MoveNext())", loop);
        if (loop == "while (true)") source = source.Replace("var loss =", "if (!batches.MoveNext()) break;\n            var loss =");
        await VerifyAll.Diagnostics(source);
    }
}
