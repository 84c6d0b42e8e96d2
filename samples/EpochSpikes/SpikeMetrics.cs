namespace EpochSpikes;

internal static class SpikeMetrics
{
    /// <summary>
    /// Epoch-boundary spike ratio: the loss of each epoch's final step over the median loss of the steps around it
    /// (up to <paramref name="neighbours"/> before and after), averaged over epochs. About 1 for a healthy run. Uses
    /// the loss the optimizer applied (after the guard's repair, if any).
    /// </summary>
    public static double EpochBoundarySpikeRatio(IReadOnlyList<StepLog> steps, int neighbours = 4)
    {
        var ratios = new List<double>();
        for (int i = 0; i < steps.Count; i++)
        {
            bool lastOfEpoch = i == steps.Count - 1 || steps[i + 1].Epoch != steps[i].Epoch;
            if (!lastOfEpoch) continue;
            var around = new List<double>();
            for (int j = Math.Max(0, i - neighbours); j <= Math.Min(steps.Count - 1, i + neighbours); j++)
            {
                if (j != i) around.Add(steps[j].OptimizedLoss);
            }
            if (around.Count == 0) continue;
            double median = Median(around);
            if (median > 0 && double.IsFinite(steps[i].OptimizedLoss)) ratios.Add(steps[i].OptimizedLoss / median);
        }
        return ratios.Count == 0 ? double.NaN : ratios.Average();
    }

    public static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}
