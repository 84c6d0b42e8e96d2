using BatchGuard.Detection;

namespace BatchGuard.Tests.Detection.Benchmark;

/// <summary>The kinds of labelled curves in the benchmark.</summary>
public enum CurveFamily
{
    /// <summary>Healthy, drop_last (every batch full): nothing to find.</summary>
    Healthy,
    /// <summary>Healthy, with a short last batch per epoch and a batch-size independent loss (k = 0): nothing to find.</summary>
    HealthyPartialBatches,
    /// <summary>loss ∝ 1/b: a spike on every short last batch, then momentum after-effects.</summary>
    PartialBatchSpikes,
    /// <summary>loss ∝ b: a dip on every short last batch.</summary>
    PartialBatchDips,
    /// <summary>loss ∝ 1/b, logged without batch_size (half of them with an epoch column).</summary>
    PartialBatchSpikesNoBatchSize,
    /// <summary>loss ∝ b, logged without batch_size (half of them with an epoch column).</summary>
    PartialBatchDipsNoBatchSize,
    /// <summary>A few one-off data spikes on full batches (with a short after-effect).</summary>
    OneOffSpikes,
    /// <summary>A few NaN or infinite losses.</summary>
    NonFinite,
    /// <summary>Adam's epoch sawtooth: the loss drops at every epoch start and creeps up during the epoch (benign).</summary>
    AdamSawtooth,
    /// <summary>Learning-rate schedule drops: persistent level shifts down (benign).</summary>
    LearningRateDrops,
    /// <summary>loss ∝ 1/b together with learning-rate drops and one-off spikes.</summary>
    Mixed,
}

/// <summary>What a labelled event is.</summary>
public enum EventKind { PartialBatch, OneOffSpike, NonFinite }

/// <summary>A labelled anomaly: its first step and the last step of its after-effects (inclusive).</summary>
public sealed record LabelledEvent(long Step, long End, EventKind Kind);

/// <summary>A synthetic loss log with its labels.</summary>
public sealed record LabelledCurve(string Name, CurveFamily Family, double Noise, bool HeavyTailed, bool HasBatchSizes, StepRecord[] Steps, LabelledEvent[] Events);

/// <summary>
/// Generates labelled loss curves: a falling curve L∞ + (L0 − L∞)·e^(−t/τ) with multiplicative noise of width σ in
/// log space (Gaussian, or for every third curve Student's t with 5 degrees of freedom),
/// epochs of a random length with a random short last batch b of B; the loss of a batch of b samples carries noise
/// σ·√(B/b) and, for a batch-size dependent loss, the factor (b/B)^k. Everything is drawn from the seed.
/// </summary>
public static class CurveGenerator
{
    public static readonly double[] NoiseLevels = [0.01, 0.03, 0.08, 0.15];
    public static readonly double[] ShortBatchRatios = [0.05, 0.1, 0.25, 0.5, 0.75];
    private static readonly int[] BatchSizes = [32, 64, 128, 256];

    /// <summary>Steps after an event that its after-effects may reach (the label window).</summary>
    public const int AfterEffectWindow = 8;

    public static LabelledCurve Generate(CurveFamily family, int index, int steps, int seed)
    {
        // Not HashCode.Combine: it is seeded per process, and the benchmark must give the same curves every run.
        var random = new Random(unchecked(seed * 1_000_003 + (int)family * 10_007 + index));
        var noise = NoiseLevels[index % NoiseLevels.Length];
        // Every third curve has heavy-tailed noise (Student's t, 5 degrees of freedom, same variance).
        var heavyTailed = index % 3 == 2;
        var stepsPerEpoch = random.Next(40, 401);
        var batch = BatchSizes[random.Next(BatchSizes.Length)];
        var ratio = ShortBatchRatios[(index / NoiseLevels.Length + random.Next(2)) % ShortBatchRatios.Length];
        var shortBatch = Math.Max(1, (int)Math.Round(batch * ratio));

        var floor = 0.05 + 0.95 * random.NextDouble();
        var start = floor + 1 + 3 * random.NextDouble();
        var tau = steps * (0.05 + 0.35 * random.NextDouble());

        var (exponent, hasShortBatch) = family switch
        {
            CurveFamily.PartialBatchSpikes or CurveFamily.PartialBatchSpikesNoBatchSize or CurveFamily.Mixed => (-1.0, true),
            CurveFamily.PartialBatchDips or CurveFamily.PartialBatchDipsNoBatchSize => (1.0, true),
            CurveFamily.HealthyPartialBatches => (0.0, true),
            CurveFamily.AdamSawtooth or CurveFamily.LearningRateDrops => (0.0, index % 2 == 0),
            _ => (0.0, false),
        };
        var logsBatchSize = family is not (CurveFamily.PartialBatchSpikesNoBatchSize or CurveFamily.PartialBatchDipsNoBatchSize);
        var logsEpoch = logsBatchSize || index % 2 == 0;

        var events = new List<LabelledEvent>();
        var extra = new double[steps];      // additive log-loss terms: after-effects, spikes, level shifts
        var nonFinite = new double?[steps];

        // Learning-rate drops: the level falls by a factor f within a few steps and stays there.
        if (family is CurveFamily.LearningRateDrops or CurveFamily.Mixed)
        {
            var drops = family == CurveFamily.Mixed ? 1 : 1 + random.Next(3);
            for (var d = 0; d < drops; d++)
            {
                var at = random.Next(steps / 5, steps - 100);
                if (random.Next(2) == 0) at = at / stepsPerEpoch * stepsPerEpoch; // a per-epoch schedule steps at an epoch start
                var factor = 0.3 + 0.5 * random.NextDouble();
                var transition = 0.5 + 14.5 * random.NextDouble();
                for (var t = at; t < steps; t++)
                    extra[t] += Math.Log(factor + (1 - factor) * Math.Exp(-(t - at) / transition));
            }
        }

        // Adam's sawtooth: within each epoch the loss rises linearly by A, and drops back by A at the next epoch start.
        if (family == CurveFamily.AdamSawtooth)
        {
            var amplitude = Math.Max(0.1 + 0.4 * random.NextDouble(), 8 * noise);
            for (var t = 0; t < steps; t++)
                extra[t] += amplitude * ((double)(t % stepsPerEpoch) / (stepsPerEpoch - 1) - 0.5);
        }

        var isShort = new bool[steps];
        if (hasShortBatch)
            for (var t = stepsPerEpoch - 1; t < steps; t += stepsPerEpoch) isShort[t] = true;

        // A batch-size dependent loss: the short batch's effect, and for a spike (a too-large gradient) the momentum
        // optimizer's after-effect, a decaying excess over the next steps.
        if (exponent != 0)
            for (var t = 0; t < steps; t++)
            {
                if (!isShort[t]) continue;
                var end = Math.Min(steps - 1, t + (exponent < 0 ? AfterEffectWindow : 0));
                events.Add(new LabelledEvent(t, end, EventKind.PartialBatch));
                if (exponent >= 0) continue;
                var kick = (0.1 + 0.4 * random.NextDouble()) * Math.Abs(exponent * Math.Log(ratio));
                for (var j = 1; t + j <= end; j++) extra[t + j] += kick * Math.Pow(0.7, j);
            }

        var taken = new HashSet<int>(events.SelectMany(e => Enumerable.Range((int)e.Step - 2, (int)(e.End - e.Step) + 5)));
        int FreeStep()
        {
            while (true)
            {
                var t = random.Next(100, steps - AfterEffectWindow - 1);
                if (!isShort[t] && !Enumerable.Range(t - 2, AfterEffectWindow + 5).Any(taken.Contains))
                {
                    foreach (var u in Enumerable.Range(t - 2, AfterEffectWindow + 5)) taken.Add(u);
                    return t;
                }
            }
        }

        if (family is CurveFamily.OneOffSpikes or CurveFamily.Mixed)
        {
            var count = 2 + random.Next(4);
            for (var s = 0; s < count; s++)
            {
                var t = FreeStep();
                var size = Math.Max(0.4 + 2.1 * random.NextDouble(), 8 * noise);
                extra[t] += size;
                var kick = 0.3 * random.NextDouble() * size;
                for (var j = 1; j <= AfterEffectWindow; j++) extra[t + j] += kick * Math.Pow(0.6, j);
                events.Add(new LabelledEvent(t, t + AfterEffectWindow, EventKind.OneOffSpike));
            }
        }

        if (family == CurveFamily.NonFinite)
        {
            var count = 1 + random.Next(3);
            for (var s = 0; s < count; s++)
            {
                var t = FreeStep();
                nonFinite[t] = random.Next(3) switch { 0 => double.NaN, 1 => double.PositiveInfinity, _ => double.NaN };
                events.Add(new LabelledEvent(t, t, EventKind.NonFinite));
            }
        }

        var records = new StepRecord[steps];
        for (var t = 0; t < steps; t++)
        {
            var b = isShort[t] ? shortBatch : batch;
            var sampleNoise = noise * Math.Sqrt((double)batch / b);
            var clean = floor + (start - floor) * Math.Exp(-t / tau);
            var shock = heavyTailed ? StudentT5(random) : Gaussian(random);
            var loss = clean * Math.Exp(sampleNoise * shock + extra[t]) * Math.Pow((double)b / batch, exponent);
            if (nonFinite[t] is { } bad) loss = bad;
            records[t] = new StepRecord(t, loss, logsBatchSize ? b : null, logsEpoch ? t / stepsPerEpoch : null);
        }
        events.Sort((a, b) => a.Step.CompareTo(b.Step));
        var name = $"{family}#{index} σ={noise}{(heavyTailed ? " t5" : "")} epoch={stepsPerEpoch} b/B={shortBatch}/{batch}";
        return new LabelledCurve(name, family, noise, heavyTailed, logsBatchSize, records, [.. events]);
    }

    /// <summary>Student's t with 5 degrees of freedom, scaled to unit variance (its variance is 5/3).</summary>
    private static double StudentT5(Random random)
    {
        double chiSquare = 0;
        for (var i = 0; i < 5; i++) { var g = Gaussian(random); chiSquare += g * g; }
        return Gaussian(random) / Math.Sqrt(chiSquare / 5) * Math.Sqrt(3.0 / 5);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
