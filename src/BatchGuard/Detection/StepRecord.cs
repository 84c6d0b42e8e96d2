namespace BatchGuard.Detection;

/// <summary>
/// What the detector sees of one training step: its loss and, when known, the size of its batch, its epoch and the
/// gradient norm. <paramref name="Step"/> is the training step's own number (it need not start at 0 or be contiguous).
/// </summary>
public readonly record struct StepRecord(long Step, double Loss, int? BatchSize = null, int? Epoch = null, double? GradNorm = null);
