using BatchGuard.Guard;
using TorchSharp;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

/// <summary>The README's loop, as a user writes it with a TorchSharp DataLoader.</summary>
public sealed class ReadmeExampleTests
{
    private sealed class Rows(Tensor x, Tensor y) : utils.data.Dataset
    {
        public override long Count => x.shape[0];
        public override Dictionary<string, Tensor> GetTensor(long index) => new() { ["data"] = x[index], ["label"] = y[index] };
    }

    [Fact]
    public void The_README_loop_trains_from_a_DataLoader_and_ends_with_a_report()
    {
        using var data = new TinyRegression(100, seed: 4);
        var (model, criterion) = (data.Model, nn.MSELoss());
        using var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9);
        using var loader = new TorchSharp.Modules.DataLoader(new Rows(data.X, data.Y), batchSize: 32, shuffle: true, seed: 1, disposeDataset: false);
        var logger = new RecordingLogger();
        var losses = new List<double>();

        using var guard = new TrainingGuard(model.parameters(), optimizer,
            GuardOptions.From(loader) with { Policy = GuardPolicy.Clip | GuardPolicy.Repair }, logger);
        for (int epoch = 0; epoch < 10; epoch++)
            foreach (var batch in loader)
            {
                using var scope = torch.NewDisposeScope();
                var loss = criterion.forward(model.forward(batch["data"]), batch["label"]);
                losses.Add(guard.Step(loss, batchSize: batch["data"].shape[0]).Loss!.Value);
            }
        var report = guard.Report();

        Assert.Equal(40, report.Steps); // 4 batches per epoch: 32, 32, 32, 4
        Assert.True(losses.TakeLast(4).Average() < 0.2 * losses.Take(4).Average(), $"loss went from {losses[0]} to {losses[^1]}");
        Assert.Contains(logger.Entries, e => e.Id.Id == 5106 && e.Message == report.Summary);
        Assert.Null(report.RepairExponent); // a mean loss: nothing to repair
    }
}
