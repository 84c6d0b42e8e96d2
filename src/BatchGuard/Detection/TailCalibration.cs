namespace BatchGuard.Detection;

/// <summary>
/// Raises the thresholds when the noise has heavier tails than a Gaussian. It counts how often ordinary steps pass
/// |z| = 3 and |z| = 4.5, fits a power-law tail P(|z| &gt; x) ∝ x^−ν through the two rates, and returns the factor
/// that brings the extrapolated false-alarm rate at the threshold down to <see cref="TargetRate"/>. The counts start
/// from Gaussian pseudo-observations, so a short or Gaussian run keeps the configured thresholds. O(1).
/// </summary>
internal sealed class TailCalibration
{
    private const double Low = 3.0;

    /// <summary>The upper exceedance level; a step beyond it is also a candidate for a recurring anomaly.</summary>
    public const double High = 4.5;

    /// <summary>Gaussian rates of |z| beyond <see cref="Low"/> and <see cref="High"/>.</summary>
    private const double GaussianLowRate = 2.7e-3, GaussianHighRate = 6.8e-6;

    /// <summary>Pseudo-steps of Gaussian behaviour the counts start from.</summary>
    private const double PriorSteps = 300;

    /// <summary>Acceptable rate of |z| beyond the threshold on an ordinary step (both sides).</summary>
    public const double TargetRate = 2e-5;

    /// <summary>The thresholds never rise beyond this factor: past it a spike would have to be absurd to be seen.</summary>
    private const double MaxFactor = 3;

    private double _steps = PriorSteps, _beyondLow = PriorSteps * GaussianLowRate, _beyondHigh = PriorSteps * GaussianHighRate;
    private double _factor = 1;
    private double _threshold = double.NaN;

    /// <summary>The counts behind the factor, for diagnostics.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"n={_steps:F0} >3: {_beyondLow:F1} >4.5: {_beyondHigh:F1}");

    public void Observe(double absoluteZ)
    {
        _steps++;
        if (absoluteZ > Low) _beyondLow++;
        if (absoluteZ > High) _beyondHigh++;
        _threshold = double.NaN;
    }

    /// <summary>Starts again from the Gaussian prior (the exceedances seen so far turned out to recur: not noise).</summary>
    public void Reset() => (_steps, _beyondLow, _beyondHigh, _threshold) = (PriorSteps, PriorSteps * GaussianLowRate, PriorSteps * GaussianHighRate, double.NaN);

    /// <summary>Takes back an observation that turned out to be an anomaly with a cause (a recurring one), not noise.</summary>
    public void Forget(double absoluteZ)
    {
        // Never below the prior: the observation may predate a reset.
        if (_steps < PriorSteps + 1) return;
        _steps--;
        if (absoluteZ > Low) _beyondLow = Math.Max(PriorSteps * GaussianLowRate, _beyondLow - 1);
        if (absoluteZ > High) _beyondHigh = Math.Max(PriorSteps * GaussianHighRate, _beyondHigh - 1);
        _threshold = double.NaN;
    }

    /// <summary>The factor (≥ 1) by which to raise <paramref name="threshold"/> for the tails seen so far.</summary>
    public double Factor(double threshold)
    {
        if (threshold == _threshold) return _factor;
        var lowRate = _beyondLow / _steps;
        var highRate = _beyondHigh / _steps;
        var tailIndex = Math.Clamp(Math.Log(lowRate / highRate) / Math.Log(High / Low), 1.5, 20);
        var needed = High * Math.Pow(highRate / TargetRate, 1 / tailIndex);
        _threshold = threshold;
        _factor = double.IsFinite(needed) ? Math.Clamp(needed / threshold, 1, MaxFactor) : 1;
        return _factor;
    }
}
