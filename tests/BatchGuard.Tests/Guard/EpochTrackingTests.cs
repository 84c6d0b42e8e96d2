using BatchGuard.Guard;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

public sealed class EpochTrackingTests
{
    private static List<GuardStepResult> Train(GuardOptions options, int samples, int batchSize, int epochs)
    {
        using var data = new TinyRegression(samples);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.01);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, options);
        var results = new List<GuardStepResult>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var (x, y) in data.Batches(batchSize))
            {
                using var scope = NewDisposeScope();
                results.Add(guard.Step(data.MeanLoss(x, y), x.shape[0]));
            }
        }
        return results;
    }

    [Fact]
    public void Without_any_epoch_facts_a_short_batch_closes_the_epoch()
    {
        var results = Train(new GuardOptions(), samples: 28, batchSize: 8, epochs: 3); // 8, 8, 8, 4 per epoch

        Assert.Equal(new int?[] { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2 }, results.Select(r => r.Epoch));
        Assert.Equal(new int?[] { 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3 }, results.Select(r => r.Position));
        Assert.Equal(new[] { 8, 8, 8, 4 }, results.Take(4).Select(r => r.BatchSize));
    }

    [Fact]
    public void Known_steps_per_epoch_place_steps_even_without_short_batches()
    {
        var results = Train(new GuardOptions { StepsPerEpoch = 4, NominalBatchSize = 8, DropLast = true }, samples: 32, batchSize: 8, epochs: 2);

        Assert.Equal(new int?[] { 0, 0, 0, 0, 1, 1, 1, 1 }, results.Select(r => r.Epoch));
        Assert.Equal(new int?[] { 0, 1, 2, 3, 0, 1, 2, 3 }, results.Select(r => r.Position));
    }

    [Fact]
    public void Marked_epochs_place_steps_when_nothing_can_be_inferred()
    {
        using var data = new TinyRegression(32);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.01);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { DropLast = true });
        var results = new List<GuardStepResult>();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            guard.BeginEpoch();
            foreach (var (x, y) in data.Batches(8))
            {
                using var scope = NewDisposeScope();
                results.Add(guard.Step(data.MeanLoss(x, y), x.shape[0]));
            }
        }

        Assert.Equal(new int?[] { 0, 0, 0, 0, 1, 1, 1, 1 }, results.Select(r => r.Epoch));
        Assert.Equal(new int?[] { 0, 1, 2, 3, 0, 1, 2, 3 }, results.Select(r => r.Position));
    }
}
