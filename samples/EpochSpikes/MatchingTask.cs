using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EpochSpikes;

/// <summary>
/// A small detection-like multi-task problem: each sample has <see cref="Slots"/> item slots; a slot is "matched"
/// (objectness 1) or not, and matched slots carry a 2-D box target. Like a detector's loss, the training loss is
/// averaged over the matched items of the batch.
/// </summary>
internal static class MatchingTask
{
    public const int Features = 16;
    public const int Slots = 4;
    public const int BatchSize = 32;
    /// <summary>8 full batches and one short batch of 5 per epoch.</summary>
    public const int DatasetSize = 8 * BatchSize + 5;

    public sealed record Data(Tensor Inputs, Tensor Objectness, Tensor Boxes) : IDisposable
    {
        public void Dispose()
        {
            Inputs.Dispose();
            Objectness.Dispose();
            Boxes.Dispose();
        }
    }

    /// <summary>Inputs from a random teacher: objectness = sign of a linear score, boxes = a linear map, plus noise.</summary>
    public static Data Generate(int seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var x = randn(DatasetSize, Features, generator: generator);
        var scoreTeacher = randn(Features, Slots, generator: generator);
        var boxTeacher = randn(Features, Slots * 2, generator: generator) / Math.Sqrt(Features);
        var objectness = (x.matmul(scoreTeacher) + 0.3 * randn(DatasetSize, Slots, generator: generator)).gt(0.5).to_type(ScalarType.Float32);
        var boxes = (x.matmul(boxTeacher) + 0.05 * randn(DatasetSize, Slots * 2, generator: generator)).reshape(DatasetSize, Slots, 2);
        return new Data(x.MoveToOuterDisposeScope(), objectness.MoveToOuterDisposeScope(), boxes.MoveToOuterDisposeScope());
    }

    public static nn.Module<Tensor, Tensor> CreateModel(int seed)
    {
        random.manual_seed(seed);
        return nn.Sequential(
            nn.Linear(Features, 64),
            nn.ReLU(),
            nn.Linear(64, Slots * 3));
    }

    /// <summary>
    /// Sum over the batch of the classification and box losses, divided by the number of matched items in the
    /// batch: a per-match average whose magnitude does not depend on the batch size.
    /// </summary>
    public static Tensor PerMatchLoss(Tensor output, Tensor objectness, Tensor boxes)
    {
        var logits = output[.., ..Slots];
        var predictedBoxes = output[.., Slots..].reshape(-1, Slots, 2);
        var classification = F.binary_cross_entropy_with_logits(logits, objectness, reduction: nn.Reduction.Sum);
        var matched = objectness.unsqueeze(-1);
        var box = F.smooth_l1_loss(predictedBoxes * matched, boxes * matched, reduction: nn.Reduction.Sum);
        var numMatched = objectness.sum().clamp_min(1);
        return (classification + box) / numMatched;
    }
}
