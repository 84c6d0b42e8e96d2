using BatchGuard.Detection;

namespace BatchGuard.Tests.Detection.Benchmark;

public class DetectionBenchmarkTests
{
    /// <summary>A fixed-seed benchmark small enough for every test run; docs/detection.md has the large one.</summary>
    private static readonly Lazy<BenchmarkResult> Small = new(() => DetectionBenchmark.Run(curvesPerFamily: 8, stepsPerCurve: 3000, seed: 7));

    private static DetectorScore BatchGuard => Small.Value.Overall.Single(s => s.Detector == DetectionBenchmark.BatchGuardFinal);

    [Fact]
    public void BatchGuard_beats_every_competitor_on_F1()
    {
        foreach (var competitor in Small.Value.Overall.Where(s => !s.Detector.StartsWith("BatchGuard", StringComparison.Ordinal)))
            Assert.True(BatchGuard.F1 > competitor.F1, $"BatchGuard F1 {BatchGuard.F1:F3} vs {competitor.Detector} {competitor.F1:F3}");
    }

    [Fact]
    public void BatchGuard_attributes_at_least_95_percent_of_detected_partial_batch_anomalies_to_the_partial_batch()
    {
        Assert.True(BatchGuard.PartialBatchDetected > 100);
        Assert.True(BatchGuard.Attribution >= 0.95, $"attribution {BatchGuard.Attribution:P1}");
    }

    [Fact]
    public void BatchGuard_raises_fewer_than_one_false_alarm_per_10000_healthy_steps()
    {
        Assert.True(BatchGuard.HealthySteps > 100_000);
        Assert.True(BatchGuard.FalseAlarmsPer10k < 1, $"{BatchGuard.FalseAlarmsPer10k:F2} false alarms per 10k healthy steps");
    }

    [Fact]
    public void BatchGuard_never_blames_a_one_off_data_spike_on_the_batch_size()
    {
        Assert.True(BatchGuard.OneOffDetected > 20);
        Assert.Equal(0, BatchGuard.OneOffMisattributed);
    }

    [Fact]
    public void The_generator_gives_the_same_curves_for_the_same_seed()
    {
        var first = CurveGenerator.Generate(CurveFamily.Mixed, 3, 500, seed: 11);
        var second = CurveGenerator.Generate(CurveFamily.Mixed, 3, 500, seed: 11);
        Assert.Equal(first.Steps.Select(s => s.Loss), second.Steps.Select(s => s.Loss));
        Assert.Equal(first.Events, second.Events);
    }

    [Fact]
    public void The_generator_labels_one_partial_batch_event_per_epoch_for_a_batch_size_dependent_loss()
    {
        var curve = CurveGenerator.Generate(CurveFamily.PartialBatchSpikes, 0, 3000, seed: 1);
        var partial = curve.Steps.Where(s => s.BatchSize < curve.Steps.Max(x => x.BatchSize)).Select(s => s.Step);
        Assert.Equal(partial, curve.Events.Select(e => e.Step));
        Assert.All(curve.Events, e => Assert.Equal(CurveGenerator.AfterEffectWindow, e.End - e.Step));
    }

    [Fact]
    public void Lightning_spike_detection_flags_a_loss_three_times_its_running_mean_and_non_finite_losses()
    {
        LightningSpikeDetection AfterTwentyOnes()
        {
            var lightning = new LightningSpikeDetection();
            for (var i = 0; i < 20; i++) Assert.False(lightning.Observe(1.0));
            return lightning;
        }
        Assert.False(AfterTwentyOnes().Observe(2.9));
        Assert.True(AfterTwentyOnes().Observe(3.1));
        Assert.True(AfterTwentyOnes().Observe(double.NaN));
    }

    [Fact]
    public void OLMo_skip_step_waits_for_64_losses_then_flags_six_sigma_above_the_mean()
    {
        var olmo = new OlmoSkipStep();
        var random = new Random(1);
        for (var i = 0; i < 62; i++) Assert.False(olmo.Observe(1 + 0.01 * random.NextDouble()));
        Assert.False(olmo.Observe(100));  // 63 held: not yet active
        for (var i = 0; i < 128; i++) olmo.Observe(1 + 0.01 * random.NextDouble());
        Assert.True(olmo.Observe(1.2));
        Assert.False(olmo.Observe(1.005));
    }

    [Fact]
    public void ZClip_flags_a_z_score_above_2_5_after_its_25_step_warm_up()
    {
        var zclip = new ZClipZScore();
        var random = new Random(2);
        for (var i = 0; i < 25; i++) Assert.False(zclip.Observe(1 + 0.1 * (random.NextDouble() - 0.5)));
        Assert.True(zclip.Observe(2));
    }

    [Fact]
    public void The_wandb_style_alert_is_two_sided_over_the_last_30_values()
    {
        var alert = new WandbThreeSigma();
        var random = new Random(3);
        for (var i = 0; i < 30; i++) Assert.False(alert.Observe(1 + 0.1 * (random.NextDouble() - 0.5)));
        Assert.True(alert.Observe(0.5));
        Assert.True(alert.Observe(double.PositiveInfinity));
    }
}
