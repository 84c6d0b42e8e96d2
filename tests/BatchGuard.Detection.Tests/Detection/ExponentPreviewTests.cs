using BatchGuard.Detection;

namespace BatchGuard.Tests.Detection;

/// <summary>
/// The guard repairs a short batch in its own step, before backward, from a preview of k that includes that batch.
/// </summary>
public class ExponentPreviewTests
{
    private const int Nominal = 32, Short = 5;

    private static LossAnomalyDetector Feed(int fullSteps, double noise, int seed = 1)
    {
        var detector = new LossAnomalyDetector(new DetectorOptions { NominalBatchSize = Nominal });
        var random = new Random(seed);
        for (var t = 0; t < fullSteps; t++)
            detector.Observe(new StepRecord(t, 0.5 * Math.Exp(noise * Gaussian(random)), Nominal));
        return detector;
    }

    [Fact]
    public void During_warm_up_a_short_batch_eight_times_too_large_previews_k_near_minus_one_precisely()
    {
        var detector = Feed(fullSteps: 8, noise: 0.05);
        double spikedLoss = 0.5 * Nominal / Short; // loss ∝ 1/b

        var preview = detector.PreviewBatchSizeExponent(spikedLoss, Short);

        Assert.NotNull(preview);
        Assert.InRange(preview!.Value.K, -1.2, -0.8);
        Assert.True(preview.Value.StandardError < 0.2, $"standard error {preview.Value.StandardError}");
    }

    [Fact]
    public void Preview_does_not_change_what_the_detector_has_seen()
    {
        var detector = Feed(fullSteps: 60, noise: 0.05);
        detector.Observe(new StepRecord(60, 0.5 * Nominal / Short, Short));
        var before = detector.Diagnose();

        _ = detector.PreviewBatchSizeExponent(0.5 * Nominal / Short, Short);
        _ = detector.PreviewBatchSizeExponent(0.5, Short);

        var after = detector.Diagnose();
        Assert.Equal(before.BatchSizeExponent, after.BatchSizeExponent);
        Assert.Equal(before.BatchSizeExponentError, after.BatchSizeExponentError);
        Assert.Equal(before.PartialBatchesSeen, after.PartialBatchesSeen);
        Assert.Equal(before.StepsObserved, after.StepsObserved);
    }

    [Fact]
    public void A_healthy_short_batch_previews_k_near_zero()
    {
        var detector = Feed(fullSteps: 60, noise: 0.05);

        var preview = detector.PreviewBatchSizeExponent(0.5, Short);

        Assert.NotNull(preview);
        Assert.True(Math.Abs(preview!.Value.K) < 3 * preview.Value.StandardError, $"k = {preview.Value.K} ± {preview.Value.StandardError}");
    }

    [Theory]
    [InlineData(double.NaN, Short)]
    [InlineData(0.0, Short)]
    [InlineData(1.0, Nominal)]
    [InlineData(1.0, 0)]
    public void No_preview_for_full_batches_or_unusable_losses(double loss, long batchSize)
    {
        Assert.Null(Feed(fullSteps: 60, noise: 0.05).PreviewBatchSizeExponent(loss, batchSize));
    }

    [Fact]
    public void No_preview_before_enough_full_batches_give_a_level()
    {
        Assert.Null(Feed(fullSteps: 3, noise: 0.05).PreviewBatchSizeExponent(3.2, Short));
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
