using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyLoss = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.LossScalingRules>;

namespace BatchGuard.Analyzers.Tests.BatchDegree;

/// <summary>
/// Which write of a local reaches a read (analyzers/BatchGuard.Analyzers/BatchDegree/LocalWrites.cs): the writes are found
/// from the words that name the local, and a missed write would make the model read a stale value — a false positive.
/// </summary>
public sealed class LocalWritesTests
{
    private static string Loop(string body) => TestReferences.Usings + $$"""
        class Trainer
        {
            static void Adjust(ref Tensor t) { }
            static void Replace(out Tensor t) => t = torch.zeros(1);

            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true))
                {
                    var pred = net.forward(b["x"]);
                    var y = b["y"];
                    {{body}}
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task A_later_assignment_replaces_the_value_the_division_reads()
    {
        // loss is reassigned to a sum before the division: sum / batch size is a mean, not a second normalisation.
        await VerifyLoss.Diagnostics(Loop("""
            var perBatch = F.mse_loss(pred, y);
            perBatch = (pred - y).abs().sum();
            var loss = perBatch / pred.shape[0];
            """));
    }

    /// <summary>
    /// The writes are found from the text around the name (SourceMarks.PossibleWriteTokens) before any token is looked
    /// up: every spelling of a write must still be seen, or the stale first value would give a false BG0004.
    /// </summary>
    [Theory]
    [InlineData("perBatch  /* summed instead */ = (pred - y).abs().sum();")]
    [InlineData("perBatch\n    = (pred - y).abs().sum();")]
    [InlineData("perBatch\n#pragma warning disable CS0168\n    = (pred - y).abs().sum();")]
    [InlineData("perBatch += (pred - y).abs().sum();")]
    [InlineData("Tensor scale; (scale, perBatch) = (y, (pred - y).abs().sum());")]
    [InlineData("Tensor scale; (perBatch , scale) = ((pred - y).abs().sum(), y);")]
    [InlineData("Adjust( ref  perBatch );")]
    [InlineData("Replace(out perBatch);")]
    public async Task Every_spelling_of_a_write_replaces_the_value_the_division_reads(string write)
    {
        await VerifyLoss.Diagnostics(Loop($$"""
            var perBatch = F.mse_loss(pred, y);
            {{write}}
            var loss = perBatch / pred.shape[0];
            """));
    }

    [Fact]
    public async Task A_deconstructing_assignment_makes_the_local_unknown()
    {
        // (perBatch, scale) = ...: the model does not follow deconstruction, so it must not read the first write.
        await VerifyLoss.Diagnostics(Loop("""
            var perBatch = F.mse_loss(pred, y);
            Tensor scale;
            (perBatch, scale) = ((pred - y).abs().sum(), y);
            var loss = perBatch / pred.shape[0];
            """));
    }

    [Fact]
    public async Task Without_the_reassignment_the_second_normalisation_is_reported()
    {
        await VerifyLoss.Diagnostics(Loop("""
            var perBatch = F.mse_loss(pred, y);
            var loss = {|BG0004:perBatch / pred.shape[0]|};
            """));
    }

    [Fact]
    public async Task A_count_passed_by_ref_is_not_followed()
    {
        // Adjust may set the count to anything (a clamped value included): no claim that it can be zero.
        await VerifyLoss.Diagnostics(Loop("""
            var positives = (y > 0).sum();
            Adjust(ref positives);
            var loss = (pred * (y > 0)).sum() / positives;
            """));
    }

    [Fact]
    public async Task A_count_without_the_ref_call_is_reported()
    {
        await VerifyLoss.Diagnostics(Loop("""
            var positives = (y > 0).sum();
            var loss = {|BG0005:(pred * (y > 0)).sum() / positives|};
            """));
    }
}
