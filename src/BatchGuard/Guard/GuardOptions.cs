using BatchGuard.Detection;
using TorchSharp.Modules;

namespace BatchGuard.Guard;

/// <summary>How a <see cref="TrainingGuard"/> watches and acts. Start from <see cref="From{T,S}(DataLoader{T,S})"/> and adjust with <c>with</c>.</summary>
public sealed record GuardOptions
{
    /// <summary>What to do about anomalies. Default: report only.</summary>
    public GuardPolicy Policy { get; init; } = GuardPolicy.Warn;

    /// <summary>The loader's batch size B. When null, the largest batch seen so far.</summary>
    public int? NominalBatchSize { get; init; }

    /// <summary>Optimizer steps per epoch. When null, a batch smaller than B closes an epoch (unless <see cref="DropLast"/>).</summary>
    public int? StepsPerEpoch { get; init; }

    /// <summary>Whether the loader drops its short final batch (then no partial batches are expected).</summary>
    public bool DropLast { get; init; }

    /// <summary>With <see cref="GuardPolicy.Clip"/>: fixed maximum total gradient norm (2-norm), as in <c>clip_grad_norm_</c>. Null: no fixed limit.</summary>
    public double? MaxGradNorm { get; init; }

    /// <summary>With <see cref="GuardPolicy.Clip"/>: adaptive z-score clip on the gradient norm. Null: off.</summary>
    public AdaptiveClipOptions? AdaptiveClip { get; init; } = new();

    /// <summary>
    /// With <see cref="GuardPolicy.Repair"/>: partial batches the detector must have seen (the current one included)
    /// before its exponent k is used. With 1, a short batch is repaired in its own step when the k it gives is precise
    /// (standard error ≤ <see cref="RepairMaxExponentError"/>) and, resting on that one batch, at least 5 standard errors from 0.
    /// </summary>
    public int RepairAfterPartialBatches { get; init; } = 1;

    /// <summary>With <see cref="GuardPolicy.Repair"/>: the largest standard error of the measured k at which it is used.</summary>
    public double RepairMaxExponentError { get; init; } = 0.2;

    /// <summary>Host or device decisions; <see cref="GuardExecution.Auto"/> picks the cheaper one for the parameters' device.</summary>
    public GuardExecution Execution { get; init; } = GuardExecution.Auto;

    /// <summary>Device path: steps between read-backs of loss, norm and decisions (one host sync per interval).</summary>
    public int ReadbackInterval { get; init; } = 32;

    /// <summary>Detector thresholds. The epoch fields are filled from this record's own.</summary>
    public DetectorOptions? Detector { get; init; }

    /// <summary>Called for every anomaly, as <see cref="TrainingGuard.AnomalyDetected"/>. Exceptions are logged, not rethrown.</summary>
    public Action<GuardEvent>? OnAnomaly { get; init; }

    /// <summary>Batch size, drop_last and steps per epoch read from a TorchSharp DataLoader.</summary>
    public static GuardOptions From<T, S>(DataLoader<T, S> loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        return new GuardOptions
        {
            NominalBatchSize = loader.batch_size,
            DropLast = loader.drop_last,
            StepsPerEpoch = loader.Count is > 0 and <= int.MaxValue ? (int)loader.Count : null,
        };
    }

    internal void Validate()
    {
        if (NominalBatchSize is <= 0) throw new ArgumentOutOfRangeException(nameof(NominalBatchSize), NominalBatchSize, "GuardOptions.NominalBatchSize must be positive.");
        if (StepsPerEpoch is <= 0) throw new ArgumentOutOfRangeException(nameof(StepsPerEpoch), StepsPerEpoch, "GuardOptions.StepsPerEpoch must be positive.");
        if (MaxGradNorm is double m && !(m > 0 && double.IsFinite(m))) throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), m, "GuardOptions.MaxGradNorm must be a positive finite number.");
        if (ReadbackInterval < 1) throw new ArgumentOutOfRangeException(nameof(ReadbackInterval), ReadbackInterval, "GuardOptions.ReadbackInterval must be at least 1.");
        if (RepairAfterPartialBatches < 1) throw new ArgumentOutOfRangeException(nameof(RepairAfterPartialBatches), RepairAfterPartialBatches, "GuardOptions.RepairAfterPartialBatches must be at least 1.");
        if (!(RepairMaxExponentError > 0)) throw new ArgumentOutOfRangeException(nameof(RepairMaxExponentError), RepairMaxExponentError, "GuardOptions.RepairMaxExponentError must be positive.");
        AdaptiveClip?.Validate();
    }
}

/// <summary>
/// Adaptive clip in the spirit of ZClip: exponential moving mean μ and variance σ² of the (clipped) gradient norm;
/// a norm above μ + z·σ is clipped to it. No clipping during the first <see cref="WarmupSteps"/> finite steps.
/// </summary>
public sealed record AdaptiveClipOptions
{
    /// <summary>Threshold z in standard deviations.</summary>
    public double ZThreshold { get; init; } = 2.5;
    /// <summary>EMA decay α: μ ← α·μ + (1−α)·norm.</summary>
    public double Alpha { get; init; } = 0.97;
    /// <summary>Finite steps observed before the first clip.</summary>
    public int WarmupSteps { get; init; } = 25;

    internal void Validate()
    {
        if (!(ZThreshold > 0 && double.IsFinite(ZThreshold))) throw new ArgumentOutOfRangeException(nameof(ZThreshold), ZThreshold, "AdaptiveClipOptions.ZThreshold must be a positive finite number.");
        if (!(Alpha > 0 && Alpha < 1)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "AdaptiveClipOptions.Alpha must lie in (0, 1).");
        if (WarmupSteps < 1) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "AdaptiveClipOptions.WarmupSteps must be at least 1.");
    }
}
