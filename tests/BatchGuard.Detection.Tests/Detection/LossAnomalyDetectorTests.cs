using BatchGuard.Detection;

namespace BatchGuard.Tests.Detection;

public class LossAnomalyDetectorTests
{
    /// <summary>A falling curve with 1% noise; every 50th step is a short last batch of 8 instead of 64.</summary>
    private static IEnumerable<StepRecord> Epochs(int epochs, double exponent, int stepsPerEpoch = 50, int batch = 64, int last = 8, int seed = 1)
    {
        var random = new Random(seed);
        long step = 0;
        for (var epoch = 0; epoch < epochs; epoch++)
            for (var position = 0; position < stepsPerEpoch; position++, step++)
            {
                var b = position == stepsPerEpoch - 1 ? last : batch;
                var loss = (0.3 + 2.0 * Math.Exp(-step / 400.0)) * Math.Exp(0.01 * Gaussian(random)) * Math.Pow((double)b / batch, exponent);
                yield return new StepRecord(step, loss, b, epoch);
            }
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    [Fact]
    public void A_loss_normalised_twice_spikes_on_every_short_last_batch_and_is_diagnosed_as_k_minus_one()
    {
        var detector = new LossAnomalyDetector();
        foreach (var step in Epochs(epochs: 10, exponent: -1)) detector.Observe(step);

        var spikes = detector.Anomalies.Where(a => a.Kind == AnomalyKind.Spike && a.AfterEffectOf is null).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(e => e * 50L + 49), spikes.Select(a => a.Step));
        Assert.All(spikes, a => Assert.Equal(AnomalyCause.PartialBatch, a.Cause));
        var diagnosis = detector.Diagnose();
        Assert.Equal(Finding.DoubleNormalisation, diagnosis.Finding);
        Assert.Equal(-1, diagnosis.BatchSizeExponent!.Value, 0.1);
        Assert.Equal(50, diagnosis.Period);
        Assert.Contains("drop_last: true", diagnosis.Summary);
    }

    [Fact]
    public void A_loss_summed_over_the_batch_dips_on_every_short_last_batch_and_is_diagnosed_as_k_plus_one()
    {
        var detector = new LossAnomalyDetector();
        foreach (var step in Epochs(epochs: 10, exponent: +1)) detector.Observe(step);

        Assert.Equal(10, detector.Anomalies.Count(a => a.Kind == AnomalyKind.Dip && a.Cause == AnomalyCause.PartialBatch));
        var diagnosis = detector.Diagnose();
        Assert.Equal(Finding.SumOverBatch, diagnosis.Finding);
        Assert.Equal(1, diagnosis.BatchSizeExponent!.Value, 0.1);
    }

    [Fact]
    public void A_batch_size_independent_loss_raises_no_anomaly_and_reports_k_near_zero()
    {
        var detector = new LossAnomalyDetector();
        foreach (var step in Epochs(epochs: 20, exponent: 0)) detector.Observe(step);

        Assert.Empty(detector.Anomalies);
        var diagnosis = detector.Diagnose();
        Assert.Equal(Finding.Healthy, diagnosis.Finding);
        Assert.Equal(0, diagnosis.BatchSizeExponent!.Value, 0.1);
    }

    [Fact]
    public void A_nan_loss_is_a_non_finite_anomaly_reported_on_its_own_step()
    {
        var detector = new LossAnomalyDetector();
        foreach (var step in Epochs(epochs: 2, exponent: 0).Take(60)) detector.Observe(step);

        var verdict = detector.Observe(new StepRecord(60, double.NaN, 64, 1));

        Assert.NotNull(verdict);
        Assert.Equal(AnomalyKind.NonFinite, verdict.Kind);
        Assert.Null(verdict.Loss);
        Assert.Equal(Finding.NonFinite, detector.Diagnose().Finding);
    }
}
