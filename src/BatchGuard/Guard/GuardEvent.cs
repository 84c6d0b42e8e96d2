using BatchGuard.Detection;

namespace BatchGuard.Guard;

/// <summary>The outcome of one guarded step.</summary>
/// <param name="Step">0-based step index, counted by the guard.</param>
/// <param name="Epoch">0-based epoch, when known or inferred.</param>
/// <param name="Position">0-based position of the step in its epoch, when known.</param>
/// <param name="BatchSize">The batch size passed in.</param>
/// <param name="Loss">The loss as computed by the user's code (before repair); null while deferred.</param>
/// <param name="GradNorm">Total gradient 2-norm before clipping; null while deferred.</param>
/// <param name="ClipFactor">Factor the gradients were multiplied by (1: not clipped, 0: skipped); null while deferred.</param>
/// <param name="LossScale">Repair factor (B/b)^k applied to the loss before backward; 1 when not repaired.</param>
/// <param name="Action">What the guard did.</param>
/// <param name="Anomaly">The detector's finding on this step, if any.</param>
public readonly record struct GuardStepResult(
    long Step, int? Epoch, int? Position, int BatchSize, double? Loss, double? GradNorm, double? ClipFactor,
    double LossScale, GuardAction Action, Anomaly? Anomaly)
{
    /// <summary>Whether the caller of <see cref="TrainingGuard.AfterBackward"/> should call <c>optimizer.step()</c>.</summary>
    public bool ShouldStep => (Action & GuardAction.Skipped) == 0;

    /// <summary>The loss that drove the gradients: <see cref="Loss"/> × <see cref="LossScale"/>.</summary>
    public double? EffectiveLoss => Loss * LossScale;
}

/// <summary>A reported anomaly: where it happened, what it is, why, and what the guard did.</summary>
public sealed record GuardEvent(
    long Step, int? Epoch, int? Position, int BatchSize, double? Loss, double? Baseline,
    AnomalyKind Kind, AnomalyCause Cause, GuardAction Action, string Explanation);

/// <summary>Thrown by a guard with <see cref="GuardPolicy.Throw"/>; the offending step was not applied.</summary>
public sealed class TrainingAnomalyException : Exception
{
    /// <summary>Creates the exception for an event.</summary>
    public TrainingAnomalyException(GuardEvent anomaly)
        : base($"BatchGuard: {anomaly.Kind} at step {anomaly.Step} (epoch {anomaly.Epoch?.ToString() ?? "?"}, batch size {anomaly.BatchSize}): {anomaly.Explanation}")
        => Anomaly = anomaly;

    /// <summary>The anomaly that stopped training.</summary>
    public GuardEvent Anomaly { get; }
}
