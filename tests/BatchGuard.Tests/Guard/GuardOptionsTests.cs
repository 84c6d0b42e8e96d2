using BatchGuard.Guard;
using TorchSharp;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

public sealed class GuardOptionsTests
{
    private sealed class Samples(long count) : utils.data.Dataset
    {
        public override long Count => count;
        public override Dictionary<string, Tensor> GetTensor(long index) => new() { ["x"] = full(4, (float)index), ["y"] = zeros(1) };
    }

    [Theory]
    [InlineData(100, 32, false, 4)]
    [InlineData(100, 32, true, 3)]
    [InlineData(96, 32, false, 3)]
    public void From_DataLoader_reads_batch_size_drop_last_and_steps_per_epoch(int samples, int batchSize, bool dropLast, int stepsPerEpoch)
    {
        TorchNativeBackend.EnsureLoaded();
        using var loader = new TorchSharp.Modules.DataLoader(new Samples(samples), batchSize, shuffle: true, drop_last: dropLast);

        var options = GuardOptions.From(loader);

        Assert.Equal(batchSize, options.NominalBatchSize);
        Assert.Equal(dropLast, options.DropLast);
        Assert.Equal(stepsPerEpoch, options.StepsPerEpoch);
        Assert.Equal(stepsPerEpoch, loader.Count());
    }

    [Fact]
    public void Invalid_options_are_rejected_naming_the_option()
    {
        using var data = new TinyRegression(8);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingGuard(data.Model.parameters(), null, new GuardOptions { MaxGradNorm = -1 }));
        Assert.Contains("MaxGradNorm", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingGuard(data.Model.parameters(), null, new GuardOptions { AdaptiveClip = new AdaptiveClipOptions { Alpha = 1.5 } }));
        Assert.Contains("Alpha", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingGuard(data.Model.parameters(), null, new GuardOptions { ReadbackInterval = 0 }));
    }

    [Fact]
    public void Step_without_an_optimizer_says_how_to_use_the_guard_instead()
    {
        using var data = new TinyRegression(8);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer: null);
        using var loss = data.MeanLoss(data.X, data.Y);
        var e = Assert.Throws<InvalidOperationException>(() => guard.Step(loss, 8));
        Assert.Contains("AfterBackward", e.Message);
    }

    [Fact]
    public void A_loss_that_is_not_a_scalar_is_rejected_naming_its_shape()
    {
        using var data = new TinyRegression(8);
        using var guard = new TrainingGuard(data.Model.parameters(), null);
        using var perSample = nn.functional.mse_loss(data.Model.forward(data.X), data.Y, reduction: nn.Reduction.None);

        var e = Assert.Throws<ArgumentException>(() => guard.AfterBackward(perSample, 8));

        Assert.Contains("[8, 1]", e.Message);
        Assert.Equal(0, guard.Steps);
    }
}
