using System.Globalization;

namespace BatchGuard.Detection;

/// <summary>
/// Watches the loss of every training step, online, and says which steps are anomalous and why.
/// </summary>
/// <remarks>
/// <para>
/// The baseline is a robust level-and-trend estimate of log(loss) (<see cref="RobustTrendBaseline"/>), so it follows
/// a falling training curve and a spike barely moves it. A step is judged by its robust z-score against that
/// baseline; a partial batch's z-score allows for its extra noise (√(B/b)) and it is judged by the lower
/// <see cref="DetectorOptions.SuspectThreshold"/>, because the batch size makes it a suspect beforehand.
/// </para>
/// <para>
/// Evidence is pooled over epochs: every partial batch feeds the estimate of k in loss ∝ b^k; once k is
/// established, a partial batch whose loss matches b^k is reported even when it hides in the noise. Without batch
/// sizes, the period of recurring anomalies is searched for, and anomalies at that phase are attributed to it.
/// </para>
/// <para>
/// Look-alikes: a drop of the loss that persists (a learning-rate step, Adam's epoch-start sawtooth) is a level
/// shift, re-baselined and listed in the <see cref="Diagnosis"/>, not a dip; spikes in the steps right after a
/// partial-batch spike are its momentum after-effects, grouped with it. Memory is bounded whatever the run's length.
/// Not thread-safe: one detector per training loop.
/// </para>
/// </remarks>
public sealed class LossAnomalyDetector
{
    private const int LevelShiftsKept = 256;
    private const double WarmUpCaution = 1.5;
    private const double PooledEvidencePriorLogOdds = 3;

    /// <summary>|z| beyond which an ordinary step of a log without batch sizes is a candidate for a recurring effect.</summary>
    private const double RecurrenceCandidateZ = 3;

    private readonly EpochTracker _epochs;
    /// <summary>In an after-effect window, a step this many noise scales above the baseline stays out of it.</summary>
    private const double AfterEffectBaselineZ = 2.0;

    private readonly RobustTrendBaseline _baseline;
    private readonly BatchSizeExponentEstimator _exponent = new();
    private readonly PeriodFinder _anomalyPeriod = new();
    private readonly PeriodFinder _levelShiftPeriod = new();
    private readonly PeriodFinder _exceedancePeriod = new();
    private readonly RecurringEffectEstimator _recurringEffect = new();
    private readonly TailCalibration _tails = new();
    private readonly AnomalyLog _anomalies;
    private readonly List<WarmUpStep> _warmUp = [];
    private readonly List<LevelShift> _levelShifts = [];

    private PendingDip? _pendingDip;
    private long? _afterEffectOf;
    private long _afterEffectUntil;
    private AnomalyCause _afterEffectCause;

    private long _anomalyCount, _partialBatchAnomalies, _afterEffects, _periodicAnomalies, _otherAnomalies;
    // Root events (after-effects not counted), for the summary.
    private long _partialBatchEvents, _periodicEvents, _otherEvents;
    private long _nonFinite, _nonPositive, _partialBatches, _levelShiftCount;

    /// <summary>Creates a detector; <paramref name="options"/> defaults to <c>new DetectorOptions()</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    public LossAnomalyDetector(DetectorOptions? options = null)
    {
        Options = options ?? new DetectorOptions();
        Options.Validate();
        _epochs = new EpochTracker(Options);
        _baseline = new RobustTrendBaseline(Options);
        _anomalies = new AnomalyLog(Options.MaxAnomaliesKept);
    }

    /// <summary>The settings in use.</summary>
    public DetectorOptions Options { get; }

    /// <summary>
    /// The most recent anomalies (at most <see cref="DetectorOptions.MaxAnomaliesKept"/>) in step order, including
    /// verdicts reached after their step (confirmed dips, warm-up outliers) and attributions refined by later
    /// evidence (a period found).
    /// </summary>
    public IReadOnlyList<Anomaly> Anomalies => _anomalies;

    /// <summary>How many anomalies have been reported so far, including those no longer kept in <see cref="Anomalies"/>.</summary>
    internal long ReportedAnomalies => _anomalyCount;

    /// <summary>The factor by which heavy-tailed noise has raised the thresholds (1 for Gaussian noise).</summary>
    internal double TailFactor => _tails.Factor(Options.Threshold);

    /// <summary>The tail calibration's counts, for the benchmark's <c>--explain</c> output.</summary>
    internal string TailCounts => _tails.ToString();

    /// <summary>Steps observed so far.</summary>
    public long StepsObserved { get; private set; }

    /// <summary>
    /// Judges one step, before the optimizer applies it. Returns the anomaly if this step is one, else null.
    /// A dip on a full batch is only confirmed <see cref="DetectorOptions.DipConfirmationSteps"/> steps later (it
    /// could be the start of a learning-rate drop): it then appears in <see cref="Anomalies"/> only.
    /// </summary>
    public Anomaly? Observe(in StepRecord record)
    {
        StepsObserved++;
        var context = _epochs.Advance(record);
        if (context.IsPartial) _partialBatches++;

        var nonFiniteGrad = record.GradNorm is { } g && !double.IsFinite(g);
        if (!double.IsFinite(record.Loss) || nonFiniteGrad)
        {
            _nonFinite++;
            if (_baseline.Ready) _baseline.Skip();
            var what = !double.IsFinite(record.Loss)
                ? $"Loss is {Describe(record.Loss)}"
                : $"Gradient norm is {Describe(record.GradNorm!.Value)}";
            var cause = context.IsPartial ? AnomalyCause.PartialBatch : AnomalyCause.Other;
            var where = context.IsPartial ? $" on a partial batch ({BatchText(context)})" : "";
            return Report(Create(record, context, AnomalyKind.NonFinite, cause, baseline: null, double.PositiveInfinity,
                LookAlike.None, $"{what}{where}: the step must not reach the weights."));
        }
        if (record.Loss <= 0)
        {
            _nonPositive++;
            if (_baseline.Ready) _baseline.Skip();
            return null;
        }

        var value = Math.Log(record.Loss);
        if (!_baseline.Ready)
        {
            _warmUp.Add(new WarmUpStep(record, context, value));
            return _warmUp.Count == Options.WarmUpSteps ? FinishWarmUp(record.Step) : null;
        }
        return Judge(record, context, value);
    }

    private Anomaly? Judge(in StepRecord record, StepContext context, double value)
    {
        var prediction = _baseline.Prediction;
        var sigma = _baseline.Sigma;
        var ratio = context.SizeRatio;
        var noise = ratio is { } q ? Math.Sqrt(1 / q) : 1;
        var residual = value - prediction;
        var z = residual / (sigma * noise);

        if (ratio is { } sizeRatio) _exponent.Add(sizeRatio, residual, sigma);
        var atRecurringPhase = AtRecurringPhase(record, context);
        if (atRecurringPhase) _recurringEffect.Add(residual, sigma);
        var onPeriod = _anomalyPeriod.IsOnPeriod(record.Step) || (atRecurringPhase && _recurringEffect.Established(sigma) is not null);
        var suspect = context.IsPartial || onPeriod;
        var inAfterEffect = _afterEffectOf is not null && record.Step <= _afterEffectUntil;
        var tails = Options.AdaptToHeavyTails ? _tails.Factor(Options.Threshold) : 1;
        var threshold = (suspect ? Options.SuspectThreshold : Options.Threshold) * Caution() * tails;
        // Ordinary steps (full batch, off the recurring phase, not in an after-effect) teach the noise's tails, those
        // somewhat beyond the threshold included (leaving them out would hide the very tail being measured); a step
        // far beyond it is an event, not noise.
        if (!suspect && !atRecurringPhase && !inAfterEffect && Math.Abs(z) <= 2 * threshold)
        {
            _tails.Observe(Math.Abs(z));
            // Without batch sizes, a short last batch's moderate spikes look like heavy tails until they are seen
            // to recur: exceedances feed a period search of their own, and once one is found they are not noise.
            if (record.BatchSize is null && Math.Abs(z) > RecurrenceCandidateZ && _exceedancePeriod.Add(record.Step, _epochs.StepsPerEpoch))
            {
                _tails.Reset();
                _recurringEffect.Reset();
            }
        }
        // Pooled evidence: the offset this step should show if the effect found over past epochs applies to it.
        double? expected = ratio is { } r && _exponent.IsEstablished ? _exponent.Estimate!.Value.K * Math.Log(r)
            : atRecurringPhase ? _recurringEffect.Established(sigma) : null;
        var byEvidence = expected is { } e && MatchesPooledEffect(e, residual, sigma * noise * tails);

        // A pending dip is resolved by the steps after it; a dip among them is part of the same story.
        var isFollower = _pendingDip is not null;
        Anomaly? verdict = null;
        if (z > threshold || (byEvidence && expected > 0))
        {
            verdict = Spike(record, context, prediction, z, onPeriod, inAfterEffect);
            _baseline.Skip();
        }
        else if (z < -threshold || (byEvidence && expected < 0))
        {
            _baseline.Skip();
            if (suspect)
                verdict = Report(Create(record, context, AnomalyKind.Dip,
                    context.IsPartial ? AnomalyCause.PartialBatch : AnomalyCause.Periodic, prediction, z, LookAlike.None,
                    context.IsPartial
                        ? $"Dip to {Ratio(value, prediction)} the baseline on a partial batch ({BatchText(context)})."
                        : $"Dip to {Ratio(value, prediction)} the baseline {RecurrenceText()}."));
            else if (!isFollower)
                _pendingDip = new PendingDip(record, context, value, prediction, z, Options.DipConfirmationSteps);
        }
        else if (inAfterEffect && z > AfterEffectBaselineZ)
            // Likely still carrying the momentum of the spike: keep it out of the baseline. Only clearly raised steps:
            // skipping every positive residual starves the baseline when epochs are shorter than the window (one
            // short batch per epoch keeps a window open), biasing it low until ordinary noise reads as after-effects.
            _baseline.Skip();
        else
            _baseline.Update(value);

        if (verdict is not null && verdict.AfterEffectOf is null) NoteRecurring(record.Step);
        if (isFollower) FollowPendingDip(value, residual);
        return verdict;
    }

    /// <summary>
    /// Right after the warm-up the noise scale rests on a few steps of the steepest part of the curve: thresholds
    /// start 1.5× higher and relax to 1× over the next two warm-up lengths.
    /// </summary>
    private double Caution()
    {
        var settled = (StepsObserved - Options.WarmUpSteps) / (2.0 * Options.WarmUpSteps);
        return settled >= 1 ? 1 : WarmUpCaution - (WarmUpCaution - 1) * Math.Max(0, settled);
    }

    /// <summary>
    /// Whether a step shows a pooled effect (k·log(b/B), or the mean offset at a recurring phase) that is established
    /// beyond doubt: then the step is presumed affected unless its residual speaks clearly against it — the
    /// likelihood ratio of "offset e" to "no offset" for noise s, log LR = (r·e − e²/2)/s², must not fall below
    /// −<see cref="PooledEvidencePriorLogOdds"/>. Effects under 5% are not anomalies.
    /// </summary>
    private static bool MatchesPooledEffect(double expected, double residual, double noise) =>
        Math.Abs(expected) >= 0.05 && (residual * expected - expected * expected / 2) / (noise * noise) > -PooledEvidencePriorLogOdds;

    /// <summary>
    /// For a log without batch sizes: whether this step sits where a short last batch would (the last step of the
    /// epoch when the epoch length is known, else the phase of the recurring anomalies).
    /// </summary>
    private bool AtRecurringPhase(in StepRecord record, StepContext context)
    {
        if (record.BatchSize is not null) return false;
        if (_anomalyPeriod.Period is not null) return _anomalyPeriod.IsOnPeriod(record.Step);
        if (_exceedancePeriod.Period is not null) return _exceedancePeriod.IsOnPeriod(record.Step);
        return _epochs.StepsPerEpoch is { } perEpoch && context.Position == perEpoch - 1;
    }

    private Anomaly Spike(in StepRecord record, StepContext context, double prediction, double z, bool onPeriod, bool inAfterEffect)
    {
        var value = Math.Log(record.Loss);
        var times = Ratio(value, prediction);
        if (inAfterEffect && !context.IsPartial)
        {
            // The bad gradient of the spike that opened the window is still in the optimizer's momentum: same episode.
            var source = _afterEffectOf!.Value;
            var what = _afterEffectCause == AnomalyCause.PartialBatch ? "the partial batch" : "the spike";
            return Report(Create(record, context, AnomalyKind.Spike, _afterEffectCause, prediction, z, LookAlike.None,
                $"Spike to {times} the baseline {record.Step - source} step(s) after {what} at step {source}: " +
                "the optimizer's momentum is still applying its gradient.") with { AfterEffectOf = source });
        }
        Anomaly anomaly;
        if (context.IsPartial)
            anomaly = Create(record, context, AnomalyKind.Spike, AnomalyCause.PartialBatch, prediction, z, LookAlike.None,
                $"Spike to {times} the baseline on a partial batch ({BatchText(context)}){ExponentText()}.");
        else if (onPeriod)
            anomaly = Create(record, context, AnomalyKind.Spike, AnomalyCause.Periodic, prediction, z, LookAlike.None,
                $"Spike to {times} the baseline {RecurrenceText()}.");
        else
            anomaly = Create(record, context, AnomalyKind.Spike, AnomalyCause.Other, prediction, z, LookAlike.OneOffDataSpike,
                $"Spike to {times} the baseline on a full batch, not periodic: a one-off (bad data or an instability).");
        _afterEffectOf = record.Step;
        _afterEffectUntil = record.Step + Options.AfterEffectSteps;
        _afterEffectCause = anomaly.Cause;
        return Report(anomaly);
    }

    private void FollowPendingDip(double value, double residual)
    {
        var pending = _pendingDip!;
        pending.FollowerValues[pending.Followers] = value;
        pending.FollowerResiduals[pending.Followers] = residual;
        if (++pending.Followers < pending.FollowerValues.Length) return;
        _pendingDip = null;

        var persisted = RobustTrendBaseline.Median([.. pending.FollowerResiduals]);
        var dipResidual = pending.Value - pending.Prediction;
        if (persisted <= 0.5 * dipResidual)
        {
            // Most of the drop stayed: a level shift, not a dip. Re-baseline at the new level.
            _baseline.Rebase(RobustTrendBaseline.Median([.. pending.FollowerValues]));
            _levelShiftCount++;
            // A drop that recurs at the same place every epoch is Adam's sawtooth; a lone one, a learning-rate step.
            _levelShiftPeriod.Add(pending.Record.Step);
            var previous = _levelShifts.Count > 0 ? _levelShifts[^1] : null;
            var oneEpochLater = previous is not null && pending.Context.Position is { } position && previous.Position == position
                && _epochs.StepsPerEpoch is { } perEpoch && pending.Record.Step - previous.Step == perEpoch;
            if (oneEpochLater) _levelShifts[^1] = previous! with { LookAlike = LookAlike.AdamSawtooth };
            var sawtooth = oneEpochLater || _levelShiftPeriod.IsOnPeriod(pending.Record.Step);
            if (_levelShifts.Count == LevelShiftsKept) _levelShifts.RemoveAt(0);
            _levelShifts.Add(new LevelShift(pending.Record.Step, pending.Context.Position, Math.Exp(persisted),
                sawtooth ? LookAlike.AdamSawtooth : LookAlike.LearningRateDrop));
            if (_levelShiftPeriod.Period is not null)
                for (var i = 0; i < _levelShifts.Count; i++)
                    if (_levelShiftPeriod.IsOnPeriod(_levelShifts[i].Step))
                        _levelShifts[i] = _levelShifts[i] with { LookAlike = LookAlike.AdamSawtooth };
            return;
        }
        var dip = Create(pending.Record, pending.Context, AnomalyKind.Dip, AnomalyCause.Other, pending.Prediction, pending.Z,
            LookAlike.None, $"Dip to {Ratio(pending.Value, pending.Prediction)} the baseline on a full batch; the loss came back, so it is not a level shift.")
            with { Retrospective = true };
        Report(dip);
        NoteRecurring(pending.Record.Step);
    }

    private Anomaly? FinishWarmUp(long currentStep)
    {
        Span<double> values = stackalloc double[_warmUp.Count];
        for (var i = 0; i < _warmUp.Count; i++) values[i] = _warmUp[i].Value;
        var fitted = _baseline.Initialise(values);
        var sigma = _baseline.Sigma;
        Anomaly? current = null;
        for (var i = 0; i < _warmUp.Count; i++)
        {
            var (record, context, value) = _warmUp[i];
            var residual = value - fitted[i];
            var ratio = context.SizeRatio;
            if (ratio is { } q) _exponent.Add(q, residual, sigma);
            var z = residual / (sigma * (ratio is { } r ? Math.Sqrt(1 / r) : 1));
            // The warm-up's noise scale comes from a handful of steps on the steepest part of the curve: judge its
            // steps more cautiously than later ones.
            var threshold = WarmUpCaution * (context.IsPartial ? Options.SuspectThreshold : Options.Threshold);
            if (Math.Abs(z) <= threshold) continue;
            var kind = z > 0 ? AnomalyKind.Spike : AnomalyKind.Dip;
            var cause = context.IsPartial ? AnomalyCause.PartialBatch : AnomalyCause.Other;
            var lookAlike = cause == AnomalyCause.Other && kind == AnomalyKind.Spike ? LookAlike.OneOffDataSpike : LookAlike.None;
            var anomaly = Create(record, context, kind, cause, fitted[i], z, lookAlike,
                $"{(kind == AnomalyKind.Spike ? "Spike" : "Dip")} to {Ratio(value, fitted[i])} the warm-up trend" +
                (context.IsPartial ? $" on a partial batch ({BatchText(context)})." : " on a full batch."))
                with { Retrospective = record.Step != currentStep };
            Report(anomaly);
            NoteRecurring(record.Step);
            if (record.Step == currentStep) current = anomaly;
        }
        _warmUp.Clear();
        return current;
    }

    /// <summary>Feeds the period search; when a period is found, earlier one-off anomalies at its phase are re-attributed.</summary>
    private void NoteRecurring(long step)
    {
        if (!_anomalyPeriod.Add(step, _epochs.StepsPerEpoch)) return;
        _recurringEffect.Reset();
        for (var i = 0; i < _anomalies.Count; i++)
        {
            var a = _anomalies[i];
            if (a.Cause != AnomalyCause.Other || a.Kind == AnomalyKind.NonFinite || !_anomalyPeriod.IsOnPeriod(a.Step)) continue;
            _anomalies[i] = a with
            {
                Cause = AnomalyCause.Periodic,
                LookAlike = LookAlike.None,
                Explanation = $"{a.Kind} {RecurrenceText()} (re-attributed once the period was found).",
            };
            _otherAnomalies--;
            _periodicAnomalies++;
            _otherEvents--;
            _periodicEvents++;
            if (!a.Retrospective && double.IsFinite(a.Score)) _tails.Forget(Math.Abs(a.Score));
            // Its momentum after-effects follow it.
            for (var j = i + 1; j < _anomalies.Count && _anomalies[j].Step <= a.Step + Options.AfterEffectSteps; j++)
                if (_anomalies[j].AfterEffectOf == a.Step && _anomalies[j].Cause == AnomalyCause.Other)
                {
                    _anomalies[j] = _anomalies[j] with { Cause = AnomalyCause.Periodic };
                    _otherAnomalies--;
                    _periodicAnomalies++;
                }
            if (_afterEffectOf == a.Step) _afterEffectCause = AnomalyCause.Periodic;
        }
    }

    private Anomaly Report(Anomaly anomaly)
    {
        _anomalies.Add(anomaly);
        _anomalyCount++;
        var root = anomaly.AfterEffectOf is null;
        switch (anomaly.Cause)
        {
            case AnomalyCause.PartialBatch:
                _partialBatchAnomalies++;
                if (root) _partialBatchEvents++;
                else _afterEffects++;
                break;
            case AnomalyCause.Periodic:
                _periodicAnomalies++;
                if (root) _periodicEvents++;
                break;
            // Non-finite steps are counted on their own (NonFiniteSteps), not as one-off anomalies.
            default:
                if (anomaly.Kind == AnomalyKind.NonFinite) break;
                _otherAnomalies++;
                if (root) _otherEvents++;
                break;
        }
        return anomaly;
    }

    /// <summary>
    /// What the estimate of k in loss ∝ b^k would be if the next step, a partial batch of <paramref name="batchSize"/>
    /// with this <paramref name="loss"/>, were observed; null when it cannot say (warm-up, full batch, unknown nominal
    /// size, non-finite or non-positive loss). Does not change the detector.
    /// </summary>
    internal (double K, double StandardError)? PreviewBatchSizeExponent(double loss, long batchSize)
    {
        if (!(loss > 0) || !double.IsFinite(loss) || batchSize <= 0) return null;
        if (_epochs.NominalBatchSize is not int nominal || batchSize >= nominal) return null;
        var ratio = (double)batchSize / nominal;
        if (_baseline.Ready) return _exponent.Preview(ratio, Math.Log(loss) - _baseline.Prediction, _baseline.Sigma);
        return WarmUpLevel() is var (level, sigma) ? _exponent.Preview(ratio, Math.Log(loss) - level, sigma) : null;
    }

    /// <summary>
    /// During warm-up, a rough level and noise of the log-loss from the latest full batches: the median of the last
    /// few values, and a noise scale from their step-to-step changes (robust to a falling curve). Null with too few.
    /// </summary>
    private (double Level, double Sigma)? WarmUpLevel()
    {
        const int Recent = 8, Minimum = 5;
        var values = new List<double>(Recent);
        for (var i = _warmUp.Count - 1; i >= 0 && values.Count < Recent; i--)
        {
            if (!_warmUp[i].Context.IsPartial) values.Add(_warmUp[i].Value);
        }
        if (values.Count < Minimum) return null;
        var changes = new List<double>(values.Count - 1);
        for (var i = 1; i < values.Count; i++) changes.Add(Math.Abs(values[i] - values[i - 1]));
        // median |Δ| of i.i.d. normal noise is 0.954σ (Δ has standard deviation σ√2 and median |N(0,1)| is 0.6745).
        var sigma = Math.Max(0.02, RobustTrendBaseline.Median(changes) / 0.954);
        return (RobustTrendBaseline.Median([.. values]), sigma);
    }

    /// <summary>The diagnosis so far: cheap (no pass over the history), so it can be called every few steps.</summary>
    public Diagnosis Diagnose()
    {
        var estimate = _exponent.Estimate;
        var facts = new DiagnosisFacts(
            StepsObserved,
            _epochs.StepsPerEpoch,
            _anomalyPeriod.Period is { } p && p <= int.MaxValue ? (int)p : null,
            _anomalyPeriod.Support,
            PeriodicPosition(),
            _epochs.NominalBatchSize,
            estimate?.K,
            estimate?.StandardError,
            _partialBatches,
            _anomalyCount,
            _partialBatchAnomalies,
            _afterEffects,
            _periodicAnomalies,
            _otherAnomalies,
            _partialBatchEvents,
            _periodicEvents,
            _otherEvents,
            _nonFinite,
            _nonPositive,
            _levelShifts.Count(s => s.LookAlike == LookAlike.LearningRateDrop),
            _levelShifts.Count(s => s.LookAlike == LookAlike.AdamSawtooth),
            Options.DropLast);
        return DiagnosisWriter.Write(facts) with { LevelShifts = _levelShifts.ToArray(), LevelShiftCount = _levelShiftCount };
    }

    private int? PeriodicPosition()
    {
        if (_anomalyPeriod.Phase is not { } phase) return null;
        for (var i = _anomalies.Count - 1; i >= 0; i--)
            if (_anomalies[i].Step == phase) return _anomalies[i].Position;
        return null;
    }

    private static Anomaly Create(in StepRecord record, StepContext context, AnomalyKind kind, AnomalyCause cause,
        double? baseline, double score, LookAlike lookAlike, string explanation) =>
        new(record.Step, context.Epoch, context.Position, record.BatchSize, kind, cause,
            double.IsFinite(record.Loss) ? record.Loss : null,
            baseline is { } b ? Math.Exp(b) : null,
            score, lookAlike, explanation);

    private string ExponentText() =>
        _exponent.Estimate is { } e && _exponent.Count >= 2
            ? string.Create(CultureInfo.InvariantCulture, $"; pooled over {_exponent.Count} partial batches, loss ∝ b^{e.K:0.0#}")
            : "";

    private string RecurrenceText() =>
        $"at the same phase of every epoch ({_anomalyPeriod.Period ?? _epochs.StepsPerEpoch} steps), where anomalies recur";

    private static string BatchText(StepContext c) => $"{c.BatchSize} of {c.NominalBatchSize}";

    private static string Ratio(double value, double baseline) =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.Exp(value - baseline):0.0#}×");

    private static string Describe(double value) =>
        double.IsNaN(value) ? "NaN" : value > 0 ? "+infinity" : "-infinity";

    private readonly record struct WarmUpStep(StepRecord Record, StepContext Context, double Value);

    private sealed class PendingDip(StepRecord record, StepContext context, double value, double prediction, double z, int followers)
    {
        public StepRecord Record { get; } = record;
        public StepContext Context { get; } = context;
        public double Value { get; } = value;
        public double Prediction { get; } = prediction;
        public double Z { get; } = z;
        public double[] FollowerValues { get; } = new double[followers];
        public double[] FollowerResiduals { get; } = new double[followers];
        public int Followers { get; set; }
    }
}
