namespace BatchGuard.Detection;

/// <summary>What the detector concludes about the run so far.</summary>
/// <param name="Period">
/// Steps per epoch, when periodic behaviour was found or the epoch length is known (given, counted from the epoch
/// column, or from the spacing of partial batches).
/// </param>
/// <param name="BatchSizeExponent">
/// k in loss ∝ b^k, pooled over all partial batches seen (−1: normalised twice, +1: summed over the batch,
/// 0: healthy); null until at least two partial batches were seen.
/// </param>
/// <param name="Summary">One paragraph for a person: what is wrong and which line of the setup to change.</param>
public sealed record Diagnosis(int? Period, double? BatchSizeExponent, string Summary)
{
    /// <summary>The overall verdict, for code that acts on the diagnosis.</summary>
    public Finding Finding { get; init; }

    /// <summary>Standard error of <see cref="BatchSizeExponent"/>.</summary>
    public double? BatchSizeExponentError { get; init; }

    /// <summary>The nominal batch size B (given, or the largest seen).</summary>
    public int? NominalBatchSize { get; init; }

    /// <summary>The position within the epoch where periodic anomalies recur, when found.</summary>
    public int? PeriodicPosition { get; init; }

    /// <summary>Steps the detector has seen.</summary>
    public long StepsObserved { get; init; }

    /// <summary>Steps whose batch was smaller than nominal.</summary>
    public long PartialBatchesSeen { get; init; }

    /// <summary>All anomalies reported, including those no longer kept in <see cref="LossAnomalyDetector.Anomalies"/>.</summary>
    public long AnomalyCount { get; init; }

    /// <summary>Anomalies attributed to partial batches, their momentum after-effects included.</summary>
    public long PartialBatchAnomalies { get; init; }

    /// <summary>Of <see cref="PartialBatchAnomalies"/>, the momentum after-effects: spikes in the steps right after a partial-batch spike, grouped with it.</summary>
    public long AfterEffectAnomalies { get; init; }

    /// <summary>Anomalies attributed to a periodic cause without batch-size information.</summary>
    public long PeriodicAnomalies { get; init; }

    /// <summary>One-off anomalies on full batches.</summary>
    public long OtherAnomalies { get; init; }

    /// <summary>Non-finite losses or gradient norms.</summary>
    public long NonFiniteSteps { get; init; }

    /// <summary>Steps whose loss was zero or negative: the detector's multiplicative model cannot judge them.</summary>
    public long NonPositiveLossSteps { get; init; }

    /// <summary>Persistent downward level shifts seen (learning-rate drops, epoch-start sawtooth), most recent last; bounded.</summary>
    public IReadOnlyList<LevelShift> LevelShifts { get; init; } = [];

    /// <summary>All level shifts seen, including those no longer kept in <see cref="LevelShifts"/>.</summary>
    public long LevelShiftCount { get; init; }
}

/// <summary>The overall verdict of a <see cref="Diagnosis"/>.</summary>
public enum Finding
{
    /// <summary>Too few steps to judge.</summary>
    NotEnoughData,
    /// <summary>No anomaly that needs a change.</summary>
    Healthy,
    /// <summary>loss ∝ 1/b: the loss is normalised twice.</summary>
    DoubleNormalisation,
    /// <summary>loss ∝ b: the loss is summed over the batch.</summary>
    SumOverBatch,
    /// <summary>loss ∝ b^k for another k ≠ 0.</summary>
    BatchSizeDependent,
    /// <summary>Anomalies recur every epoch at the same position, but no batch sizes were given to confirm the cause.</summary>
    PeriodicAnomalies,
    /// <summary>Only one-off anomalies (bad data or instabilities), not tied to the batch size.</summary>
    OneOffAnomalies,
    /// <summary>The loss or gradient norm became NaN or infinite.</summary>
    NonFinite,
}

/// <summary>A persistent downward shift of the loss level: recognised as a look-alike, not reported as dips.</summary>
/// <param name="Step">The first step at the new level.</param>
/// <param name="Position">Its position within the epoch, when known.</param>
/// <param name="Factor">New loss level / old loss level (below 1).</param>
/// <param name="LookAlike"><see cref="Detection.LookAlike.AdamSawtooth"/> at an epoch start, else <see cref="Detection.LookAlike.LearningRateDrop"/>.</param>
public sealed record LevelShift(long Step, int? Position, double Factor, LookAlike LookAlike);
