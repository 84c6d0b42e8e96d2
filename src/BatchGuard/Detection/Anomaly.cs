namespace BatchGuard.Detection;

/// <summary>Which way the loss left its baseline.</summary>
public enum AnomalyKind
{
    /// <summary>The loss is far above its baseline.</summary>
    Spike,
    /// <summary>The loss is far below its baseline (and came back: a lasting drop is a level shift, not a dip).</summary>
    Dip,
    /// <summary>The loss or the gradient norm is NaN or infinite.</summary>
    NonFinite,
}

/// <summary>Why the detector thinks the anomaly happened.</summary>
public enum AnomalyCause
{
    /// <summary>The step's batch is smaller than the nominal one (or the step is a momentum after-effect of such a step).</summary>
    PartialBatch,
    /// <summary>The anomaly recurs at the same position every epoch (period found or known), batch size not logged.</summary>
    Periodic,
    /// <summary>Neither: a one-off event on a full batch.</summary>
    Other,
}

/// <summary>
/// The pattern an anomaly was recognised as, among those that look like the batch-size bug but are not it.
/// </summary>
public enum LookAlike
{
    /// <summary>Not a look-alike: this is (or may be) the batch-size problem itself.</summary>
    None,
    /// <summary>
    /// A periodic drop of the loss at the start of each epoch that persists (Adam's epoch "sawtooth"): benign,
    /// reported in the diagnosis rather than as an alarm.
    /// </summary>
    AdamSawtooth,
    /// <summary>A persistent downward level shift (a learning-rate schedule step): benign, not a storm of dips.</summary>
    LearningRateDrop,
    /// <summary>A single spike on a full batch that does not recur every epoch: bad data or an instability, not the batch size.</summary>
    OneOffDataSpike,
}

/// <summary>One anomalous training step, with the detector's explanation.</summary>
/// <param name="Step">The step number as given in <see cref="StepRecord.Step"/>.</param>
/// <param name="Epoch">The epoch (given, or counted from the inferred epoch length), when known.</param>
/// <param name="Position">0-based position of the step within its epoch, when the epoch length is known.</param>
/// <param name="BatchSize">The step's batch size, when given.</param>
/// <param name="Kind">Spike, dip or non-finite.</param>
/// <param name="Cause">Partial batch, periodic or other.</param>
/// <param name="Loss">The loss (null when not finite).</param>
/// <param name="Baseline">The loss the detector expected at this step (null before the warm-up ends).</param>
/// <param name="Score">Robust z-score of log(loss) against the baseline; infinite for non-finite values.</param>
/// <param name="LookAlike">Which look-alike the anomaly was recognised as.</param>
/// <param name="Explanation">One sentence for a person.</param>
public sealed record Anomaly(
    long Step,
    int? Epoch,
    int? Position,
    int? BatchSize,
    AnomalyKind Kind,
    AnomalyCause Cause,
    double? Loss,
    double? Baseline,
    double Score,
    LookAlike LookAlike,
    string Explanation)
{
    /// <summary>
    /// For a momentum after-effect: the step of the partial batch whose bad gradient the optimizer is still applying.
    /// Such a step is grouped with that event, not counted as a root cause of its own.
    /// </summary>
    public long? AfterEffectOf { get; init; }

    /// <summary>True when the verdict was reached after the step (a dip is confirmed once the loss returns).</summary>
    public bool Retrospective { get; init; }
}
