using BatchGuard.Detection;

namespace BatchGuard.Tests.Detection;

public class LookAlikeAndAttributionTests
{
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>A falling curve with 2% noise, one batch size, no epochs; <paramref name="shape"/> multiplies it.</summary>
    private static LossAnomalyDetector Replay(int steps, Func<int, double> shape, int? batchSize = 64, int seed = 3, Func<int, int?>? epoch = null)
    {
        var detector = new LossAnomalyDetector();
        var random = new Random(seed);
        for (var t = 0; t < steps; t++)
        {
            var loss = (0.5 + 1.5 * Math.Exp(-t / 300.0)) * Math.Exp(0.02 * Gaussian(random)) * shape(t);
            detector.Observe(new StepRecord(t, loss, batchSize, epoch?.Invoke(t)));
        }
        return detector;
    }

    [Fact]
    public void A_learning_rate_drop_is_a_level_shift_not_a_storm_of_dips()
    {
        var detector = Replay(1500, t => t < 700 ? 1 : 0.6);

        Assert.Empty(detector.Anomalies);
        var shift = Assert.Single(detector.Diagnose().LevelShifts);
        Assert.Equal(LookAlike.LearningRateDrop, shift.LookAlike);
        Assert.InRange(shift.Step, 700, 701);
        Assert.Contains("learning-rate drop", detector.Diagnose().Summary);
    }

    [Fact]
    public void Adams_epoch_sawtooth_is_recognised_as_such_and_raises_no_alarm()
    {
        // The loss drops by 30% at each epoch start and creeps back up during the epoch.
        var detector = Replay(2000, t => Math.Exp(0.3 * ((t % 100) / 99.0 - 0.5)), epoch: t => t / 100);

        Assert.Empty(detector.Anomalies);
        var shifts = detector.Diagnose().LevelShifts;
        Assert.True(shifts.Count >= 15);
        Assert.All(shifts, s => Assert.Equal(LookAlike.AdamSawtooth, s.LookAlike));
        Assert.All(shifts, s => Assert.Equal(0, s.Position));
    }

    [Fact]
    public void A_one_off_spike_on_a_full_batch_is_reported_on_its_own_step_as_a_data_spike()
    {
        var detector = new LossAnomalyDetector();
        var random = new Random(4);
        Anomaly? verdict = null;
        for (var t = 0; t < 600; t++)
        {
            var loss = Math.Exp(0.02 * Gaussian(random)) * (t == 400 ? 4 : 1);
            var v = detector.Observe(new StepRecord(t, loss, 32));
            if (t == 400) verdict = v;
        }

        Assert.NotNull(verdict);
        Assert.Equal((AnomalyKind.Spike, AnomalyCause.Other, LookAlike.OneOffDataSpike), (verdict.Kind, verdict.Cause, verdict.LookAlike));
        Assert.Equal(Finding.OneOffAnomalies, detector.Diagnose().Finding);
    }

    [Fact]
    public void Momentum_after_effects_of_a_partial_batch_spike_are_grouped_with_it()
    {
        // Epochs of 100 steps; the last batch (8 of 64) spikes 8x; the next steps carry a decaying excess.
        var detector = Replay(1000, t =>
        {
            var position = t % 100;
            if (position == 99) return 8;
            var sinceShort = t >= 100 ? position + 1 : 0;
            return sinceShort is >= 1 and <= 4 ? Math.Exp(0.6 * Math.Pow(0.6, sinceShort - 1)) : 1;
        }, batchSize: null);

        // The same stream, with batch sizes: replay it through a detector that knows them.
        var withSizes = new LossAnomalyDetector();
        var random = new Random(3);
        for (var t = 0; t < 1000; t++)
        {
            var position = t % 100;
            var sinceShort = t >= 100 ? position + 1 : 0;
            var shape = position == 99 ? 8 : sinceShort is >= 1 and <= 4 ? Math.Exp(0.6 * Math.Pow(0.6, sinceShort - 1)) : 1;
            var loss = (0.5 + 1.5 * Math.Exp(-t / 300.0)) * Math.Exp(0.02 * Gaussian(random)) * shape;
            withSizes.Observe(new StepRecord(t, loss, position == 99 ? 8 : 64));
        }

        var afterEffects = withSizes.Anomalies.Where(a => a.AfterEffectOf is not null).ToList();
        Assert.NotEmpty(afterEffects);
        Assert.All(afterEffects, a =>
        {
            Assert.Equal(AnomalyCause.PartialBatch, a.Cause);
            Assert.Equal(a.Step - a.Step % 100 - 1, a.AfterEffectOf);
        });
        Assert.All(withSizes.Anomalies, a => Assert.Equal(AnomalyCause.PartialBatch, a.Cause));
        var diagnosis = withSizes.Diagnose();
        Assert.Equal(Finding.DoubleNormalisation, diagnosis.Finding);
        Assert.Equal(afterEffects.Count, diagnosis.AfterEffectAnomalies);
        Assert.Contains($"10 partial-batch anomalies (epochs of 100 steps, nominal batch 64), followed by {afterEffects.Count} steps of momentum after-effects", diagnosis.Summary);
        // Without batch sizes the after-effects follow the periodic spikes, and do not make a period of their own.
        Assert.Equal(100, detector.Diagnose().Period);
        Assert.All(detector.Anomalies, a => Assert.Equal(AnomalyCause.Periodic, a.Cause));
    }

    [Fact]
    public void Without_batch_sizes_or_epochs_the_period_of_recurring_spikes_is_found()
    {
        var detector = Replay(3000, t => t % 137 == 136 ? 5 : 1, batchSize: null);

        var diagnosis = detector.Diagnose();
        Assert.Equal(137, diagnosis.Period);
        Assert.Equal(Finding.PeriodicAnomalies, diagnosis.Finding);
        Assert.Equal(21, detector.Anomalies.Count(a => a.Cause == AnomalyCause.Periodic));
        Assert.Contains("every 137 steps", diagnosis.Summary);
        Assert.Contains("drop_last: true", diagnosis.Summary);
    }

    [Fact]
    public void A_small_partial_batch_effect_hidden_in_the_noise_is_found_by_pooling_epochs()
    {
        // b/B = 0.75 with loss ∝ 1/b: +29% on the last batch, against 8% noise (√(4/3)·8% on the short batch itself).
        var detector = new LossAnomalyDetector();
        var random = new Random(9);
        for (var t = 0; t < 4000; t++)
        {
            var b = t % 80 == 79 ? 48 : 64;
            detector.Observe(new StepRecord(t, Math.Exp(0.08 * Math.Sqrt(64.0 / b) * Gaussian(random)) * 64 / b, b));
        }

        var diagnosis = detector.Diagnose();
        Assert.Equal(-1, diagnosis.BatchSizeExponent!.Value, 0.2);
        Assert.Equal(Finding.DoubleNormalisation, diagnosis.Finding);
        Assert.True(detector.Anomalies.Count(a => a.Cause == AnomalyCause.PartialBatch) >= 40, "most of the 50 short batches flagged");
        Assert.All(detector.Anomalies, a => Assert.Equal(79, a.Step % 80));
    }

    [Fact]
    public void A_dip_on_a_full_batch_is_confirmed_only_once_the_loss_has_come_back()
    {
        var detector = new LossAnomalyDetector();
        var random = new Random(6);
        var verdicts = new List<Anomaly?>();
        for (var t = 0; t < 400; t++)
            verdicts.Add(detector.Observe(new StepRecord(t, Math.Exp(0.02 * Gaussian(random)) * (t == 300 ? 0.5 : 1), 16)));

        Assert.All(verdicts, Assert.Null);
        var dip = Assert.Single(detector.Anomalies);
        Assert.Equal((300L, AnomalyKind.Dip, true), (dip.Step, dip.Kind, dip.Retrospective));
    }
}
