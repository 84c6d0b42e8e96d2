namespace BatchGuard.Detection;

/// <summary>
/// Settings of <see cref="LossAnomalyDetector"/>. Everything is optional: what is not given is inferred from the
/// stream of steps, and the thresholds' defaults keep false alarms under one per 10,000 healthy steps on the
/// labelled benchmark (docs/detection.md).
/// </summary>
public sealed record DetectorOptions
{
    /// <summary>The nominal batch size B. When null: the largest batch size seen so far.</summary>
    public int? NominalBatchSize { get; init; }

    /// <summary>
    /// Steps per epoch. When null: counted from the epoch column, else from the spacing of partial batches, else
    /// found by a period search over the anomalies.
    /// </summary>
    public int? StepsPerEpoch { get; init; }

    /// <summary>Whether the data loader drops its last, short batch (then the summary does not suggest it).</summary>
    public bool DropLast { get; init; }

    /// <summary>Steps used to initialise the baseline before any verdict; outliers among them are judged afterwards.</summary>
    public int WarmUpSteps { get; init; } = 24;

    /// <summary>Robust z-score of log(loss) above which a full batch's loss is a spike (or, once confirmed, a dip).</summary>
    public double Threshold { get; init; } = 5.5;

    /// <summary>
    /// The lower z-score threshold for a step whose batch is smaller than nominal, or that sits at the position of a
    /// known periodic anomaly: such a step is suspect beforehand. Its z-score already allows for the extra noise of a
    /// small batch (√(B/b)).
    /// </summary>
    public double SuspectThreshold { get; init; } = 3.5;

    /// <summary>
    /// Raise the thresholds (up to 3×) when the noise proves heavier-tailed than a Gaussian, so that its tails do not
    /// become alarms. Turn off to keep the thresholds exactly as configured.
    /// </summary>
    public bool AdaptToHeavyTails { get; init; } = true;

    /// <summary>Smoothing of the baseline's level (per step); larger follows a falling curve faster.</summary>
    public double LevelSmoothing { get; init; } = 0.08;

    /// <summary>Smoothing of the baseline's trend (per step).</summary>
    public double TrendSmoothing { get; init; } = 0.01;

    /// <summary>Smoothing of the robust noise scale (mean absolute residual, per step).</summary>
    public double ScaleSmoothing { get; init; } = 0.02;

    /// <summary>
    /// Steps after a dip that decide between a dip (the loss comes back) and a level shift (it stays down: a
    /// learning-rate drop or an epoch-start sawtooth). Dips on full batches are therefore reported this many steps late.
    /// </summary>
    public int DipConfirmationSteps { get; init; } = 3;

    /// <summary>Steps after a partial-batch spike whose own spikes are grouped with it as momentum after-effects.</summary>
    public int AfterEffectSteps { get; init; } = 12;

    /// <summary>How many anomalies <see cref="LossAnomalyDetector.Anomalies"/> keeps (the most recent); the count is kept in full.</summary>
    public int MaxAnomaliesKept { get; init; } = 10_000;

    internal void Validate()
    {
        if (NominalBatchSize is <= 0) throw new ArgumentOutOfRangeException(nameof(NominalBatchSize), NominalBatchSize, "must be positive");
        if (StepsPerEpoch is <= 0) throw new ArgumentOutOfRangeException(nameof(StepsPerEpoch), StepsPerEpoch, "must be positive");
        if (WarmUpSteps < 4) throw new ArgumentOutOfRangeException(nameof(WarmUpSteps), WarmUpSteps, "must be at least 4");
        if (!(Threshold > 0)) throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "must be positive");
        if (!(SuspectThreshold > 0)) throw new ArgumentOutOfRangeException(nameof(SuspectThreshold), SuspectThreshold, "must be positive");
        CheckSmoothing(LevelSmoothing, nameof(LevelSmoothing));
        CheckSmoothing(TrendSmoothing, nameof(TrendSmoothing));
        CheckSmoothing(ScaleSmoothing, nameof(ScaleSmoothing));
        if (DipConfirmationSteps < 1) throw new ArgumentOutOfRangeException(nameof(DipConfirmationSteps), DipConfirmationSteps, "must be at least 1");
        if (AfterEffectSteps < 0) throw new ArgumentOutOfRangeException(nameof(AfterEffectSteps), AfterEffectSteps, "must not be negative");
        if (MaxAnomaliesKept < 1) throw new ArgumentOutOfRangeException(nameof(MaxAnomaliesKept), MaxAnomaliesKept, "must be at least 1");
    }

    private static void CheckSmoothing(double value, string name)
    {
        if (!(value > 0 && value < 1)) throw new ArgumentOutOfRangeException(name, value, "must be in (0, 1)");
    }
}
