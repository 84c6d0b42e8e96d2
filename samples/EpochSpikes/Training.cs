using BatchGuard.Data;
using BatchGuard.Detection;
using BatchGuard.Guard;
using TorchSharp;
using static TorchSharp.torch;

namespace EpochSpikes;

/// <summary>
/// One training step as the run log records it (and as <c>batchguard analyze</c> reads it): the loss as the code
/// computed it, and the factor the guard's repair multiplied it by before backward (1 when not repaired).
/// </summary>
internal sealed record StepLog(int Step, int Epoch, int BatchSize, double Loss, double GradNorm, double LossScale = 1)
{
    /// <summary>The loss whose gradient the optimizer applied.</summary>
    public double OptimizedLoss => Loss * LossScale;
}

/// <summary>What one configuration produced.</summary>
internal sealed record RunResult(string Name, string Title, IReadOnlyList<StepLog> Steps, double FinalLoss,
    int Skipped, int Rescaled, IReadOnlyList<long> AnomalySteps, string? Diagnosis);

internal sealed record Settings(int Epochs, int Seed)
{
    /// <summary>Learning rate for the correctly normalised loss.</summary>
    public double LearningRate => 0.01;

    /// <summary>
    /// The buggy loss is the correct one divided by the batch size, so its author tuned a learning rate B times
    /// larger: full batches then train exactly like the fixed loss, and only the short batch differs.
    /// </summary>
    public double BuggyLearningRate => LearningRate * MatchingTask.BatchSize;
}

/// <summary>
/// The training loops of the sample, written the way people write them. Each configuration creates its own loader so
/// that BatchGuard's analyzers can point at the exact line that causes the problem.
/// </summary>
internal static class Training
{
    /// <summary>Configuration 1, the bug: a loss averaged over the matches, divided again by the batch size.</summary>
    public static RunResult Buggy(MatchingTask.Data data, Settings settings)
    {
        using var dataset = torch.utils.data.TensorDataset(data.Inputs, data.Objectness, data.Boxes);
        using var loader = torch.utils.data.DataLoader(dataset, MatchingTask.BatchSize, shuffler: new EpochShuffler(dataset.Count, settings.Seed), disposeDataset: false);
        var model = MatchingTask.CreateModel(settings.Seed);
        using var optimizer = torch.optim.SGD(model.parameters(), settings.BuggyLearningRate, momentum: 0.9);

        var log = new List<StepLog>();
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            foreach (var batch in loader)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var loss = BuggyLoss(model.forward(batch[0]), batch[1], batch[2]);
                loss.backward();
                log.Add(new StepLog(log.Count, epoch, (int)batch[0].shape[0], loss.item<float>(), GradNorm(model)));
                optimizer.step();
            }
        }
        return Finish("buggy", "buggy loss, short final batch", model, data, log);
    }

    /// <summary>
    /// Configuration 2: the buggy loop, unchanged but for one line — BatchGuard's guard runs backward, step and the
    /// repair: once it has measured k in loss ∝ b^k from the run itself, it rescales each short batch's loss by (B/b)^k.
    /// </summary>
    public static RunResult Guarded(MatchingTask.Data data, Settings settings)
    {
        using var dataset = torch.utils.data.TensorDataset(data.Inputs, data.Objectness, data.Boxes);
        using var loader = torch.utils.data.DataLoader(dataset, MatchingTask.BatchSize, shuffler: new EpochShuffler(dataset.Count, settings.Seed), disposeDataset: false);
        var model = MatchingTask.CreateModel(settings.Seed);
        using var optimizer = torch.optim.SGD(model.parameters(), settings.BuggyLearningRate, momentum: 0.9);
        using var guard = new TrainingGuard(model.parameters(), optimizer, GuardOptions.From(loader) with { Policy = GuardPolicy.Repair });

        var log = new List<StepLog>();
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            foreach (var batch in loader)
            {
                using var scope = NewDisposeScope();
                var loss = BuggyLoss(model.forward(batch[0]), batch[1], batch[2]);
                var result = guard.Step(loss, batchSize: batch[0].shape[0]);
                log.Add(new StepLog(log.Count, epoch, result.BatchSize, result.Loss ?? double.NaN, result.GradNorm ?? double.NaN, result.LossScale));
            }
        }
        var report = guard.Report();
        return Finish("guarded", "buggy loss under TrainingGuard (Repair)", model, data, log,
            skipped: (int)report.SkippedSteps, rescaled: (int)report.RepairedSteps,
            anomalies: RootAnomalies(guard.Detector), diagnosis: report.Summary);
    }

    /// <summary>
    /// Diagnoses a finished run's log after the fact with the detector the guard uses (what <c>batchguard analyze</c>
    /// does with the CSV log).
    /// </summary>
    public static RunResult Diagnosed(RunResult run)
    {
        var detector = new LossAnomalyDetector(new DetectorOptions { NominalBatchSize = MatchingTask.BatchSize });
        foreach (var s in run.Steps)
            detector.Observe(new StepRecord(s.Step, s.Loss, s.BatchSize, s.Epoch, s.GradNorm));
        return run with
        {
            AnomalySteps = RootAnomalies(detector),
            Diagnosis = detector.Diagnose().Summary,
        };
    }

    /// <summary>Steps of the anomalies that have a cause of their own (a momentum after-effect belongs to its spike).</summary>
    private static List<long> RootAnomalies(LossAnomalyDetector detector) =>
        detector.Anomalies.Where(a => a.AfterEffectOf is null).Select(a => a.Step).ToList();

    /// <summary>Configuration 3: the same buggy loss, but the loader drops the short final batch.</summary>
    public static RunResult DropLast(MatchingTask.Data data, Settings settings)
    {
        using var dataset = torch.utils.data.TensorDataset(data.Inputs, data.Objectness, data.Boxes);
        using var loader = torch.utils.data.DataLoader(dataset, MatchingTask.BatchSize, shuffler: new EpochShuffler(dataset.Count, settings.Seed), drop_last: true, disposeDataset: false);
        var model = MatchingTask.CreateModel(settings.Seed);
        using var optimizer = torch.optim.SGD(model.parameters(), settings.BuggyLearningRate, momentum: 0.9);

        var log = new List<StepLog>();
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            foreach (var batch in loader)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var loss = BuggyLoss(model.forward(batch[0]), batch[1], batch[2]);
                loss.backward();
                log.Add(new StepLog(log.Count, epoch, (int)batch[0].shape[0], loss.item<float>(), GradNorm(model)));
                optimizer.step();
            }
        }
        return Finish("drop_last", "buggy loss, drop_last: true", model, data, log);
    }

    /// <summary>Configuration 4, the fix: the loss is normalised once, by the number of matches.</summary>
    public static RunResult Fixed(MatchingTask.Data data, Settings settings)
    {
        using var dataset = torch.utils.data.TensorDataset(data.Inputs, data.Objectness, data.Boxes);
        using var loader = torch.utils.data.DataLoader(dataset, MatchingTask.BatchSize, shuffler: new EpochShuffler(dataset.Count, settings.Seed), drop_last: false, disposeDataset: false);
        var model = MatchingTask.CreateModel(settings.Seed);
        using var optimizer = torch.optim.SGD(model.parameters(), settings.LearningRate, momentum: 0.9);

        var log = new List<StepLog>();
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            foreach (var batch in loader)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var loss = MatchingTask.PerMatchLoss(model.forward(batch[0]), batch[1], batch[2]);
                loss.backward();
                log.Add(new StepLog(log.Count, epoch, (int)batch[0].shape[0], loss.item<float>(), GradNorm(model)));
                optimizer.step();
            }
        }
        return Finish("fixed", "loss normalised once", model, data, log);
    }

    /// <summary>The bug as people write it: the per-match average is divided again by the batch size.</summary>
    internal static Tensor BuggyLoss(Tensor output, Tensor objectness, Tensor boxes)
    {
        var perMatch = MatchingTask.PerMatchLoss(output, objectness, boxes);
        return perMatch / output.shape[0];
    }

    /// <summary>L2 norm of all gradients, for the log (what a spike does to the update).</summary>
    internal static double GradNorm(nn.Module model)
    {
        double sumOfSquares = 0;
        foreach (var p in model.parameters())
        {
            if (p.grad is null) continue;
            double n = p.grad.norm().item<float>();
            sumOfSquares += n * n;
        }
        return Math.Sqrt(sumOfSquares);
    }

    /// <summary>Final loss, comparable across configurations: the correctly normalised loss on the whole training set.</summary>
    internal static double EvaluatePerMatchLoss(nn.Module<Tensor, Tensor> model, MatchingTask.Data data)
    {
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        return MatchingTask.PerMatchLoss(model.forward(data.Inputs), data.Objectness, data.Boxes).item<float>();
    }

    internal static RunResult Finish(string name, string title, nn.Module<Tensor, Tensor> model, MatchingTask.Data data,
        List<StepLog> log, int skipped = 0, int rescaled = 0, IReadOnlyList<long>? anomalies = null, string? diagnosis = null)
    {
        double final = EvaluatePerMatchLoss(model, data);
        model.Dispose();
        return new RunResult(name, title, log, final, skipped, rescaled, anomalies ?? Array.Empty<long>(), diagnosis);
    }
}
