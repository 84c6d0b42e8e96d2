namespace BatchGuard.Guard;

/// <summary>
/// What the guard does about an anomalous step, besides reporting it (reporting is always on). Combine flags:
/// <c>GuardPolicy.Clip | GuardPolicy.Repair</c>. Non-finite losses or gradients are always skipped, whatever the policy.
/// </summary>
[Flags]
public enum GuardPolicy
{
    /// <summary>Report anomalies (log + events) and change nothing.</summary>
    Warn = 0,
    /// <summary>Clip the total gradient norm: to <see cref="GuardOptions.MaxGradNorm"/> and/or adaptively (<see cref="GuardOptions.AdaptiveClip"/>).</summary>
    Clip = 1,
    /// <summary>Rescale a partial batch's loss by (B/b)^k once the detector has measured k from the run's own data.</summary>
    Repair = 2,
    /// <summary>Skip the optimizer step of a step the detector flags as a spike or dip (not repaired).</summary>
    Skip = 4,
    /// <summary>Throw <see cref="TrainingAnomalyException"/> on an anomalous or non-finite step (the step is not applied).</summary>
    Throw = 8,
}

/// <summary>What the guard did on one step. Flags: a step can be both repaired and clipped.</summary>
[Flags]
public enum GuardAction
{
    /// <summary>Nothing: a normal step.</summary>
    None = 0,
    /// <summary>An anomaly was reported.</summary>
    Warned = 1,
    /// <summary>The gradients were scaled down by the clip factor.</summary>
    Clipped = 2,
    /// <summary>The loss was rescaled by (B/b)^k before backward.</summary>
    Repaired = 4,
    /// <summary>The optimizer step was not applied (gradients zeroed; see the device-path limits in docs).</summary>
    Skipped = 8,
    /// <summary>Device path: the step's numbers stay on the device until the next read-back; see <see cref="TrainingGuard.StepCompleted"/>.</summary>
    Deferred = 16,
}

/// <summary>Where the guard computes the gradient norm, clip and skip factors.</summary>
public enum GuardExecution
{
    /// <summary>Host path for parameters on the CPU, device path otherwise.</summary>
    Auto,
    /// <summary>Read loss and gradient norm back every step and decide in .NET (cheapest on the CPU).</summary>
    Host,
    /// <summary>Decide with tensor operations on the parameters' device; read back every <see cref="GuardOptions.ReadbackInterval"/> steps.</summary>
    Device,
}
