using BatchGuard.Detection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using BatchGuard.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BatchGuard.Guard;

/// <summary>
/// Watches every training step: sees the loss and the gradient norm before the optimizer applies them, knows the
/// step's batch size and its place in the epoch, reports anomalies with their cause, and acts by policy (clip,
/// repair a partial batch's loss, skip, throw). Non-finite losses or gradients never reach the weights.
/// <para>
/// Either let it drive the step: <c>guard.Step(loss, batchSize)</c> replaces
/// <c>optimizer.zero_grad(); loss.backward(); clip_grad_norm_(...); optimizer.step();</c>; or call backward and step
/// yourself and ask <see cref="AfterBackward"/> in between. One guard per training loop; not thread-safe.
/// </para>
/// </summary>
public sealed class TrainingGuard : IDisposable
{
    private const int MaxEventsKept = 10_000;

    private readonly Parameter[] _parameters;
    private readonly optim.Optimizer? _optimizer;
    private readonly ILogger _logger;
    private readonly EpochTracker _epochs; // the detector's own: guard results and anomalies agree on epoch and position
    private int? _markedEpoch;
    private readonly HostClipState _hostClip;
    private readonly bool _clip;
    private DeviceClipState? _deviceClip;
    private bool? _onDevice;
    private readonly List<(StepContext Context, Tensor Stats)> _pending = new();
    private readonly List<GuardEvent> _events = new();
    private long _step;
    private int _partialBatchesSeen;
    private long _skipped, _clipped, _repaired, _nonFinite, _anomalous;
    private bool _disposed;

    /// <summary>Creates a guard over the model's parameters and (for <see cref="Step"/>) its optimizer.</summary>
    /// <param name="parameters">The parameters the optimizer updates, e.g. <c>model.parameters()</c>.</param>
    /// <param name="optimizer">The optimizer; may be null when only <see cref="AfterBackward"/> is used.</param>
    /// <param name="options">Policy, epoch facts and thresholds; <see cref="GuardOptions.From{T,S}"/> reads a DataLoader.</param>
    /// <param name="logger">Where events are logged; none by default.</param>
    public TrainingGuard(IEnumerable<Parameter> parameters, optim.Optimizer? optimizer, GuardOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        TorchNativeBackend.EnsureLoaded();
        Options = options ?? new GuardOptions();
        Options.Validate();
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("TrainingGuard needs at least one parameter; pass model.parameters().", nameof(parameters));
        _optimizer = optimizer;
        _logger = logger ?? NullLogger.Instance;
        _clip = Options.Policy.HasFlag(GuardPolicy.Clip);
        _hostClip = new HostClipState(_clip ? Options.MaxGradNorm : null, _clip ? Options.AdaptiveClip : null);
        var detectorOptions = (Options.Detector ?? new DetectorOptions()) with
        {
            NominalBatchSize = Options.NominalBatchSize,
            StepsPerEpoch = Options.StepsPerEpoch,
            DropLast = Options.DropLast,
        };
        Detector = new LossAnomalyDetector(detectorOptions);
        _epochs = new EpochTracker(detectorOptions);
    }

    /// <summary>Raised for every anomaly (spike, dip, non-finite), after it is logged. A throwing handler is logged and ignored.</summary>
    public event EventHandler<GuardEvent>? AnomalyDetected;

    /// <summary>Raised for every step once its numbers are on the host: at once on the host path, at each read-back on the device path.</summary>
    public event EventHandler<GuardStepResult>? StepCompleted;

    /// <summary>The options in force.</summary>
    public GuardOptions Options { get; }

    /// <summary>The online detector fed by this guard (the same one <c>batchguard analyze</c> replays logs through).</summary>
    public LossAnomalyDetector Detector { get; }

    /// <summary>Steps seen so far.</summary>
    public long Steps => _step;

    /// <summary>The measured exponent k in loss ∝ b^k that the repair uses; null until measured (and only with <see cref="GuardPolicy.Repair"/>).</summary>
    public double? RepairExponent { get; private set; }

    /// <summary>Whether decisions are computed on the device (known after the first step).</summary>
    public bool? UsesDevicePath => _onDevice;

    /// <summary>
    /// One full training step on a loss computed from a batch of <paramref name="batchSize"/> samples:
    /// zero_grad, backward (of the repaired loss), clip, skip decision, optimizer.step().
    /// </summary>
    public GuardStepResult Step(Tensor loss, long batchSize)
    {
        ArgumentNullException.ThrowIfNull(loss);
        var optimizer = _optimizer ?? throw new InvalidOperationException("TrainingGuard.Step needs the optimizer; pass it to the constructor, or call backward and step yourself around AfterBackward.");
        double scale = LossScaleFor(batchSize);
        if (scale == 1) scale = RepairScaleFromThisStep(loss, batchSize);
        optimizer.zero_grad();
        if (scale != 1)
        {
            using var scaled = loss * scale;
            scaled.backward();
        }
        else
        {
            loss.backward();
        }
        var result = AfterBackward(loss, batchSize, scale);
        if (result.ShouldStep) optimizer.step();
        return result;
    }

    /// <summary>
    /// The repair factor (B/b)^k for a batch of this size: not 1 only with <see cref="GuardPolicy.Repair"/>, for a
    /// partial batch, once k has been measured. Multiply the loss by it before backward and pass it to <see cref="AfterBackward"/>.
    /// </summary>
    public double LossScaleFor(long batchSize)
    {
        if (RepairExponent is not double k || batchSize <= 0 || batchSize > int.MaxValue) return 1;
        if (_epochs.NominalBatchSize is not int nominal || batchSize >= nominal) return 1;
        double scale = Math.Pow((double)nominal / batchSize, k);
        return double.IsFinite(scale) && scale > 0 ? scale : 1;
    }

    /// <summary>
    /// Checks the gradients after backward and before optimizer.step(): clips them, or zeroes them when the step must
    /// be skipped. Call <c>optimizer.step()</c> only when the result's <see cref="GuardStepResult.ShouldStep"/> is true.
    /// </summary>
    /// <param name="loss">The loss as your code computed it, before any repair scale.</param>
    /// <param name="batchSize">Samples in this batch, e.g. <c>x.shape[0]</c>.</param>
    /// <param name="lossScale">The <see cref="LossScaleFor"/> factor you multiplied the loss by before backward.</param>
    public GuardStepResult AfterBackward(Tensor loss, long batchSize, double lossScale = 1)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (loss.numel() != 1) throw new ArgumentException($"TrainingGuard needs the scalar loss (one element); got a tensor of shape [{string.Join(", ", loss.shape)}]. Reduce it (mean or sum) first.", nameof(loss));
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        int batch = batchSize is > 0 and <= int.MaxValue ? (int)batchSize : 0;
        var place = _epochs.Advance(new StepRecord(_step, 0, batch, _markedEpoch));
        var context = new StepContext(_step++, place.Epoch, place.Position, _markedEpoch, batch, place.IsPartial, lossScale);

        using var scope = NewDisposeScope();
        var grads = new List<Tensor>(_parameters.Length);
        foreach (var p in _parameters)
        {
            if (p.grad is { } g) grads.Add(g);
        }
        var device = _parameters[0].device;
        _onDevice ??= Options.Execution switch
        {
            GuardExecution.Host => false,
            GuardExecution.Device => true,
            _ => device.type != DeviceType.CPU,
        };
        return _onDevice.Value ? DeviceStep(context, loss, grads, device) : HostStep(context, loss, grads, device);
    }

    /// <summary>
    /// Marks the start of an epoch, for loops whose epochs cannot be inferred (drop_last without a step count).
    /// Once called, the guard counts epochs by these marks only.
    /// </summary>
    public void BeginEpoch() => _markedEpoch = _markedEpoch is int e ? e + 1 : _step == 0 ? 0 : 1;

    /// <summary>Device path: reads back and reports the pending steps now. No effect on the host path.</summary>
    public void Flush() => Readback();

    /// <summary>The end-of-run report: what was found, why, what the guard did, and what to change.</summary>
    public GuardReport Report()
    {
        Readback();
        DetectionReport detection;
        try
        {
            detection = DetectionReport.From(Detector);
        }
        catch (Exception e)
        {
            GuardLog.GuardFailed(_logger, e, "diagnosing the run", _step);
            detection = new DetectionReport(null, _step, Array.Empty<Anomaly>(), new Diagnosis(null, null, "The detector could not diagnose this run (see the log)."));
        }
        var report = new GuardReport(detection, _anomalous, _skipped, _nonFinite, _clipped, _repaired, RepairExponent, _events.ToArray());
        GuardLog.RunSummary(_logger, report.Summary);
        return report;
    }

    private GuardStepResult HostStep(in StepContext context, Tensor loss, List<Tensor> grads, Device device)
    {
        double norm;
        try
        {
            norm = ClipRule.TotalNorm(grads, device).ToDouble();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // E.g. sparse gradients the norm kernel refuses: the step goes on unclipped rather than the loop failing.
            GuardLog.GuardFailed(_logger, e, "computing the gradient norm", context.Step);
            norm = 0;
        }
        double lossValue = loss.ToDouble();
        bool finite = double.IsFinite(norm) && double.IsFinite(lossValue);
        double factor = _hostClip.Decide(lossValue, norm);
        var (result, stop) = Conclude(context, lossValue, norm, factor, finite, deferred: false);
        if (!result.ShouldStep)
        {
            foreach (var g in grads) g.zero_();
        }
        else if (factor < 1)
        {
            foreach (var g in grads) g.mul_(factor);
        }
        if (stop is not null) throw new TrainingAnomalyException(stop);
        return result;
    }

    private GuardStepResult DeviceStep(in StepContext context, Tensor loss, List<Tensor> grads, Device device)
    {
        _deviceClip ??= new DeviceClipState(_clip ? Options.MaxGradNorm : null, _clip ? Options.AdaptiveClip : null, device);
        var lossValue = loss.detach().to_type(ScalarType.Float64);
        if (lossValue.device != device) lossValue = lossValue.to(device);
        var norm = ClipRule.TotalNorm(grads, device);
        var (factor, finite) = _deviceClip.Decide(lossValue, norm);
        // NaN·0 is NaN: zero a non-finite step's gradients outright, then scale by the (clip or 0) factor.
        var nonFinite = finite.logical_not();
        foreach (var g in grads) g.masked_fill_(nonFinite, 0).mul_(factor);
        _pending.Add((context, stack(new[] { lossValue, norm, factor, finite.to_type(ScalarType.Float64) }).DetachFromDisposeScope()));
        if (_pending.Count >= Options.ReadbackInterval) Readback();
        var action = GuardAction.Deferred | (context.LossScale != 1 ? GuardAction.Repaired : GuardAction.None);
        return new GuardStepResult(context.Step, context.Epoch, context.Position, context.BatchSize, null, null, null, context.LossScale, action, null);
    }

    /// <summary>Device path: one host sync for all pending steps, then the same host-side reporting as the host path.</summary>
    private void Readback()
    {
        if (_pending.Count == 0) return;
        double[] values;
        using (NewDisposeScope())
        {
            values = stack(_pending.Select(p => p.Stats).ToArray()).cpu().data<double>().ToArray();
        }
        var contexts = _pending.Select(p => p.Context).ToArray();
        foreach (var (_, stats) in _pending) stats.Dispose();
        _pending.Clear();

        GuardEvent? stop = null;
        for (int i = 0; i < contexts.Length; i++)
        {
            var (_, first) = Conclude(contexts[i], values[4 * i], values[4 * i + 1], values[4 * i + 2], values[4 * i + 3] != 0, deferred: true);
            stop ??= first;
        }
        if (stop is not null) throw new TrainingAnomalyException(stop);
    }

    /// <summary>Host-side half of a step, shared by both paths: detection, policy, counters, events.</summary>
    private (GuardStepResult Result, GuardEvent? Stop) Conclude(in StepContext context, double loss, double norm, double factor, bool finite, bool deferred)
    {
        var action = context.LossScale != 1 ? GuardAction.Repaired : GuardAction.None;
        if (!finite) action |= GuardAction.Skipped;
        else if (factor < 1) action |= GuardAction.Clipped;

        Anomaly? anomaly = null;
        try
        {
            long reportedBefore = Detector.ReportedAnomalies;
            anomaly = Detector.Observe(new StepRecord(context.Step, loss, context.BatchSize, context.MarkedEpoch, norm));
            ReportLateFindings(Detector.ReportedAnomalies - reportedBefore, anomaly);
        }
        catch (Exception e)
        {
            GuardLog.GuardFailed(_logger, e, "observing the loss", context.Step);
        }

        GuardEvent? stop = null;
        if (anomaly is not null || !finite)
        {
            action |= GuardAction.Warned;
            _anomalous++;
            bool repairedPartialBatch = context.LossScale != 1 && anomaly?.Cause == AnomalyCause.PartialBatch;
            if (finite && Options.Policy.HasFlag(GuardPolicy.Skip) && !repairedPartialBatch)
            {
                if (deferred) GuardLog.DeviceSkipNotApplied(_logger, context.Step, Options.ReadbackInterval);
                else action |= GuardAction.Skipped;
            }
            var ev = new GuardEvent(context.Step, context.Epoch, anomaly?.Position ?? context.Position, context.BatchSize,
                double.IsNaN(loss) && anomaly is null ? null : loss, anomaly?.Baseline,
                anomaly?.Kind ?? AnomalyKind.NonFinite, anomaly?.Cause ?? AnomalyCause.Other, action,
                anomaly?.Explanation ?? $"Non-finite {(double.IsFinite(loss) ? "gradient norm" : "loss")} ({(double.IsFinite(loss) ? norm : loss)}); the step was skipped.");
            Report(ev);
            // A short batch the repair already rescaled is handled, not a reason to stop (nor to skip, above).
            if (Options.Policy.HasFlag(GuardPolicy.Throw) && !repairedPartialBatch) stop = ev;
        }

        if ((action & GuardAction.Skipped) != 0) _skipped++;
        if (!finite) _nonFinite++;
        if ((action & GuardAction.Clipped) != 0) _clipped++;
        if ((action & GuardAction.Repaired) != 0) _repaired++;
        if (finite && context.IsPartial && context.BatchSize > 0) LearnExponent(context.Step);

        var result = new GuardStepResult(context.Step, context.Epoch, context.Position, context.BatchSize, loss, norm,
            (action & GuardAction.Skipped) != 0 ? 0 : factor, context.LossScale, action, anomaly);
        if (StepCompleted is { } handler)
        {
            try
            {
                handler(this, result);
            }
            catch (Exception e)
            {
                GuardLog.HandlerFailed(_logger, e, context.Step);
            }
        }
        return (result, stop);
    }

    private void Report(GuardEvent ev)
    {
        GuardLog.Anomaly(_logger, ev.Step, ev.Epoch, ev.Position, ev.BatchSize, ev.Kind, ev.Cause, ev.Loss, ev.Baseline, ev.Action, ev.Explanation);
        if (_events.Count < MaxEventsKept) _events.Add(ev);
        foreach (var handler in new[] { Options.OnAnomaly, AnomalyDetected is { } h ? e => h(this, e) : null })
        {
            if (handler is null) continue;
            try
            {
                handler(ev);
            }
            catch (Exception e)
            {
                GuardLog.HandlerFailed(_logger, e, ev.Step);
            }
        }
    }

    /// <summary>
    /// Some anomalies are confirmed only after their step was applied: a dip (is it a learning-rate drop?) once the
    /// next steps show the loss came back, and outliers of the warm-up once the baseline exists. They are reported
    /// (log, events, counts) as soon as the detector confirms them; no policy can act on a step already applied.
    /// </summary>
    private void ReportLateFindings(long newlyReported, Anomaly? verdict)
    {
        long late = newlyReported - (verdict is null ? 0 : 1);
        if (late <= 0) return;
        var kept = Detector.Anomalies;
        int from = (int)Math.Max(0, kept.Count - newlyReported);
        for (int i = from; i < kept.Count && late > 0; i++)
        {
            var a = kept[i];
            if (verdict is not null && a == verdict) continue;
            late--;
            _anomalous++;
            Report(new GuardEvent(a.Step, a.Epoch, a.Position, a.BatchSize ?? 0, a.Loss, a.Baseline, a.Kind, a.Cause,
                GuardAction.Warned, "Confirmed after the step was applied: " + a.Explanation));
        }
    }

    /// <summary>
    /// On the host path, a short batch seen before k is known can still be repaired in its own step: the loss is read
    /// before backward and the detector previews k with this batch included. A k resting on this batch alone must be
    /// far from 0 (5 standard errors), so a healthy loss's noise does not trigger a rescale.
    /// </summary>
    private double RepairScaleFromThisStep(Tensor loss, long batchSize)
    {
        if (!Options.Policy.HasFlag(GuardPolicy.Repair) || RepairExponent is not null || _onDevice == true) return 1;
        if (_partialBatchesSeen + 1 < Options.RepairAfterPartialBatches) return 1;
        if (_epochs.NominalBatchSize is not int nominal || batchSize <= 0 || batchSize >= nominal) return 1;
        try
        {
            if (loss.numel() != 1) return 1;
            var preview = Detector.PreviewBatchSizeExponent(loss.ToDouble(), batchSize);
            if (preview is not var (k, error) || !AcceptsExponent(k, error, onePartialBatch: _partialBatchesSeen == 0)) return 1;
            RepairExponent = k;
            GuardLog.RepairEnabled(_logger, k, _partialBatchesSeen + 1, _step + 1, nominal);
            return LossScaleFor(batchSize);
        }
        catch (Exception e)
        {
            GuardLog.GuardFailed(_logger, e, "previewing the batch-size exponent", _step);
            return 1;
        }
    }

    /// <summary>
    /// Whether a measured k is precise enough to repair with, and far enough from 0 that the loss really depends on
    /// the batch size (a k indistinguishable from 0 is a healthy loss: nothing to repair).
    /// </summary>
    private bool AcceptsExponent(double k, double error, bool onePartialBatch) =>
        double.IsFinite(k) && error <= Options.RepairMaxExponentError && Math.Abs(k) >= (onePartialBatch ? 5 : 3) * error;

    /// <summary>Repair uses k only once the detector has measured it; never an assumed value. It follows later evidence.</summary>
    private void LearnExponent(long step)
    {
        _partialBatchesSeen++;
        if (!Options.Policy.HasFlag(GuardPolicy.Repair) || _partialBatchesSeen < Options.RepairAfterPartialBatches) return;
        try
        {
            var diagnosis = Detector.Diagnose();
            if (diagnosis.BatchSizeExponent is not double k || !double.IsFinite(k)) return;
            if (diagnosis.BatchSizeExponentError is not double error || !(error <= Options.RepairMaxExponentError)) return;
            if (!AcceptsExponent(k, error, onePartialBatch: false))
            {
                // Precise and indistinguishable from 0: the loss does not depend on the batch size (any earlier
                // repair rested on too little evidence), so stop rescaling.
                RepairExponent = null;
                return;
            }
            bool first = RepairExponent is null;
            RepairExponent = k;
            if (first && _epochs.NominalBatchSize is int nominal) GuardLog.RepairEnabled(_logger, k, _partialBatchesSeen, step + 1, nominal);
        }
        catch (Exception e)
        {
            GuardLog.GuardFailed(_logger, e, "measuring the batch-size exponent", step);
        }
    }

    /// <summary>Reports pending device-path steps and frees the guard's tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        try
        {
            Readback();
        }
        catch (TrainingAnomalyException)
        {
            // Already logged and raised as an event; Dispose must not throw.
        }
        finally
        {
            foreach (var (_, stats) in _pending) stats.Dispose();
            _pending.Clear();
            _deviceClip?.Dispose();
            _disposed = true;
        }
    }

    private readonly record struct StepContext(long Step, int? Epoch, int? Position, int? MarkedEpoch, int BatchSize, bool IsPartial, double LossScale);
}
