using BatchGuard.Detection;

namespace BatchGuard.Tests.Detection;

public class DetectorRobustnessTests
{
    [Fact]
    public void Memory_is_bounded_the_most_recent_anomalies_are_kept_and_all_are_counted()
    {
        var detector = new LossAnomalyDetector(new DetectorOptions { MaxAnomaliesKept = 100 });

        for (var t = 0; t < 100_000; t++) detector.Observe(new StepRecord(t, double.NaN));

        Assert.Equal(100, detector.Anomalies.Count);
        Assert.Equal(Enumerable.Range(99_900, 100).Select(i => (long)i), detector.Anomalies.Select(a => a.Step));
        Assert.Equal(100_000, detector.Diagnose().AnomalyCount);
        Assert.Equal(100_000, detector.StepsObserved);
    }

    [Fact]
    public void A_non_finite_gradient_norm_is_an_anomaly_even_when_the_loss_is_fine()
    {
        var detector = new LossAnomalyDetector();

        var verdict = detector.Observe(new StepRecord(0, 0.7, GradNorm: double.PositiveInfinity));

        Assert.Equal(AnomalyKind.NonFinite, verdict?.Kind);
        Assert.Contains("Gradient norm is +infinity", verdict!.Explanation);
    }

    [Fact]
    public void An_empty_last_batch_that_divides_by_zero_is_blamed_on_the_partial_batch()
    {
        var detector = new LossAnomalyDetector(new DetectorOptions { NominalBatchSize = 32 });

        var verdict = detector.Observe(new StepRecord(0, double.NaN, BatchSize: 0));

        Assert.Equal((AnomalyKind.NonFinite, AnomalyCause.PartialBatch), (verdict?.Kind, verdict?.Cause));
        Assert.Contains("an empty last batch divides by zero", detector.Diagnose().Summary);
    }

    [Fact]
    public void Losses_at_or_below_zero_are_not_judged_and_the_diagnosis_says_so()
    {
        var detector = new LossAnomalyDetector();

        for (var t = 0; t < 100; t++) Assert.Null(detector.Observe(new StepRecord(t, t % 10 == 0 ? -1 : 1)));

        Assert.Equal(10, detector.Diagnose().NonPositiveLossSteps);
        Assert.Contains("10 steps had a loss ≤ 0", detector.Diagnose().Summary);
    }

    [Fact]
    public void A_constant_loss_does_not_turn_rounding_into_spikes()
    {
        var detector = new LossAnomalyDetector();

        for (var t = 0; t < 1000; t++) detector.Observe(new StepRecord(t, t % 7 == 0 ? 0.6931 : 0.6932));

        Assert.Empty(detector.Anomalies);
        Assert.Equal(Finding.Healthy, detector.Diagnose().Finding);
    }

    [Fact]
    public void Before_any_step_the_diagnosis_says_there_is_not_enough_data()
    {
        var diagnosis = new LossAnomalyDetector().Diagnose();

        Assert.Equal(Finding.NotEnoughData, diagnosis.Finding);
        Assert.Null(diagnosis.Period);
        Assert.Null(diagnosis.BatchSizeExponent);
        Assert.Equal("Only 0 steps: too few to judge.", diagnosis.Summary);
    }

    [Theory]
    [InlineData(nameof(DetectorOptions.NominalBatchSize))]
    [InlineData(nameof(DetectorOptions.StepsPerEpoch))]
    [InlineData(nameof(DetectorOptions.WarmUpSteps))]
    [InlineData(nameof(DetectorOptions.Threshold))]
    [InlineData(nameof(DetectorOptions.LevelSmoothing))]
    [InlineData(nameof(DetectorOptions.MaxAnomaliesKept))]
    public void Options_out_of_range_are_rejected_naming_the_option(string option)
    {
        var options = option switch
        {
            nameof(DetectorOptions.NominalBatchSize) => new DetectorOptions { NominalBatchSize = 0 },
            nameof(DetectorOptions.StepsPerEpoch) => new DetectorOptions { StepsPerEpoch = -1 },
            nameof(DetectorOptions.WarmUpSteps) => new DetectorOptions { WarmUpSteps = 1 },
            nameof(DetectorOptions.Threshold) => new DetectorOptions { Threshold = double.NaN },
            nameof(DetectorOptions.LevelSmoothing) => new DetectorOptions { LevelSmoothing = 1 },
            _ => new DetectorOptions { MaxAnomaliesKept = 0 },
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new LossAnomalyDetector(options));
        Assert.Equal(option, error.ParamName);
    }

    [Fact]
    public void Given_epoch_length_and_batch_size_override_what_the_stream_suggests()
    {
        var detector = new LossAnomalyDetector(new DetectorOptions { NominalBatchSize = 128, StepsPerEpoch = 40 });

        for (var t = 0; t < 100; t++) detector.Observe(new StepRecord(t, 1, 64));

        var diagnosis = detector.Diagnose();
        Assert.Equal(128, diagnosis.NominalBatchSize);
        Assert.Equal(40, diagnosis.Period);
        Assert.Equal(100, diagnosis.PartialBatchesSeen);
    }
}

public class HeavyTailedNoiseTests
{
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double StudentT5(Random random)
    {
        double chiSquare = 0;
        for (var i = 0; i < 5; i++) { var g = Gaussian(random); chiSquare += g * g; }
        return Gaussian(random) / Math.Sqrt(chiSquare / 5);
    }

    [Fact]
    public void Heavy_tailed_noise_raises_the_thresholds_so_its_tails_are_not_alarms()
    {
        var detector = new LossAnomalyDetector();
        var random = new Random(12);

        for (var t = 0; t < 20_000; t++) detector.Observe(new StepRecord(t, Math.Exp(0.05 * StudentT5(random)), 64));

        Assert.True(detector.TailFactor > 1.5, $"tail factor {detector.TailFactor:F2}");
        Assert.True(detector.Anomalies.Count <= 4, $"{detector.Anomalies.Count} alarms in 20,000 healthy steps");
    }

    [Fact]
    public void Without_adaptation_heavy_tails_do_raise_alarms()
    {
        var detector = new LossAnomalyDetector(new DetectorOptions { AdaptToHeavyTails = false });
        var random = new Random(12);

        for (var t = 0; t < 20_000; t++) detector.Observe(new StepRecord(t, Math.Exp(0.05 * StudentT5(random)), 64));

        Assert.True(detector.Anomalies.Count > 10, $"{detector.Anomalies.Count} alarms");
    }

    [Fact]
    public void Gaussian_noise_keeps_the_configured_thresholds()
    {
        var detector = new LossAnomalyDetector();
        var random = new Random(13);

        for (var t = 0; t < 20_000; t++) detector.Observe(new StepRecord(t, Math.Exp(0.05 * Gaussian(random)), 64));

        Assert.Equal(1, detector.TailFactor);
        Assert.Empty(detector.Anomalies);
    }
}

public class StepNumberingTests
{
    [Fact]
    public void A_resumed_run_whose_steps_count_from_zero_again_gets_no_negative_positions()
    {
        var detector = new LossAnomalyDetector(new DetectorOptions { StepsPerEpoch = 10 });
        for (var t = 100; t < 200; t++) detector.Observe(new StepRecord(t, 1));

        for (var t = 0; t < 50; t++) detector.Observe(new StepRecord(t, t == 25 ? double.NaN : 1));

        var nan = Assert.Single(detector.Anomalies);
        Assert.Equal((25L, 5, 2), (nan.Step, nan.Position, nan.Epoch));
    }
}

public class HostileInputTests
{
    [Fact]
    public void Arbitrary_step_records_never_make_the_detector_throw()
    {
        var random = new Random(21);
        double[] losses = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0, -1, double.Epsilon, double.MaxValue, 1e-300, 1, 2.5];
        long[] steps = [long.MinValue, long.MaxValue, 0, -5, 3, 1_000_000_000_000];
        foreach (var options in new[] { new DetectorOptions(), new DetectorOptions { StepsPerEpoch = 7, NominalBatchSize = 3 } })
        {
            var detector = new LossAnomalyDetector(options);
            for (var i = 0; i < 5_000; i++)
            {
                var record = new StepRecord(
                    random.Next(4) == 0 ? steps[random.Next(steps.Length)] : i,
                    random.Next(3) == 0 ? losses[random.Next(losses.Length)] : Math.Exp(random.NextDouble()),
                    random.Next(3) == 0 ? null : random.Next(-2, 70),
                    random.Next(3) == 0 ? null : random.Next(-1, 5),
                    random.Next(5) == 0 ? losses[random.Next(losses.Length)] : null);
                detector.Observe(record);
                if (i % 500 == 0) Assert.NotNull(detector.Diagnose().Summary);
            }
            Assert.Equal(5_000, detector.StepsObserved);
            Assert.False(string.IsNullOrWhiteSpace(detector.Diagnose().Summary));
        }
    }
}
