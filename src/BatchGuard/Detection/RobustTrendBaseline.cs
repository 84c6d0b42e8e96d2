namespace BatchGuard.Detection;

/// <summary>
/// A robust level-and-trend estimate of log(loss): Holt's linear smoothing with Huber-clipped residuals, so that a
/// spike moves the baseline by at most a couple of noise widths, and a robust noise scale (mean absolute residual,
/// also clipped). Initialised from a warm-up window by a Theil–Sen line fit. O(1) per step.
/// </summary>
internal sealed class RobustTrendBaseline(DetectorOptions options)
{
    /// <summary>Residuals beyond this many noise widths are clipped before they update the baseline.</summary>
    private const double HuberClip = 2.5;

    /// <summary>E|r| = σ·√(2/π) for Gaussian noise; the scale is kept as E|r| and reported as σ.</summary>
    private static readonly double SigmaPerMeanAbsolute = Math.Sqrt(Math.PI / 2);

    /// <summary>
    /// Noise floor in log units (0.5%): a perfectly smooth synthetic loss must not turn every wiggle into a spike.
    /// </summary>
    private const double MinSigma = 0.005;

    private double _level, _trend, _meanAbsolute;

    public bool Ready { get; private set; }

    public double Prediction => _level + _trend;

    public double Sigma => Math.Max(MinSigma, _meanAbsolute * SigmaPerMeanAbsolute);

    /// <summary>Fits a line to the warm-up values (one per step); returns the fitted value for each of them.</summary>
    public double[] Initialise(ReadOnlySpan<double> values)
    {
        var n = values.Length;
        var slopes = new List<double>(n * (n - 1) / 2);
        for (var i = 0; i < n; i++)
            for (var j = i + 1; j < n; j++)
                slopes.Add((values[j] - values[i]) / (j - i));
        var slope = Median(slopes);
        var intercepts = new List<double>(n);
        for (var i = 0; i < n; i++) intercepts.Add(values[i] - slope * i);
        var intercept = Median(intercepts);

        var fitted = new double[n];
        var deviations = new List<double>(n);
        for (var i = 0; i < n; i++)
        {
            fitted[i] = intercept + slope * i;
            deviations.Add(Math.Abs(values[i] - fitted[i]));
        }
        // MAD → σ (×1.4826) → E|r| (×√(2/π)).
        _meanAbsolute = Median(deviations) * 1.4826 / SigmaPerMeanAbsolute;
        _level = fitted[n - 1];
        _trend = slope;
        Ready = true;
        return fitted;
    }

    /// <summary>Moves on one step using the observed value (clipped, so outliers barely move the baseline).</summary>
    public void Update(double value)
    {
        var prediction = Prediction;
        var limit = HuberClip * Sigma;
        var residual = value - prediction;
        var clipped = Math.Clamp(residual, -limit, limit);
        _level = prediction + options.LevelSmoothing * clipped;
        _trend += options.TrendSmoothing * options.LevelSmoothing * clipped;
        _meanAbsolute += options.ScaleSmoothing * (Math.Min(Math.Abs(residual), limit) - _meanAbsolute);
    }

    /// <summary>Moves on one step without looking at the value (the step is an anomaly).</summary>
    public void Skip() => _level = Prediction;

    /// <summary>Jumps to a new level (a persistent level shift), keeping trend and noise scale.</summary>
    public void Rebase(double level) => _level = level;

    internal static double Median(List<double> values)
    {
        values.Sort();
        var n = values.Count;
        return n == 0 ? 0 : n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}
