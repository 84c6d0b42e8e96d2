namespace BatchGuard.Detection;

/// <summary>
/// Raises the thresholds when the noise has heavier tails than a Gaussian. It counts how often ordinary steps pass
/// |z| = 3 and |z| = 4.5, fits a power-law tail P(|z| &gt; x) ∝ x^−ν through the two rates, and returns the factor
/// that brings the extrapolated false-alarm rate at the threshold down to <see cref="TargetRate"/>. The counts start
/// from Gaussian pseudo-observations, so a short or Gaussian run keeps the configured thresholds. O(1).
/// </summary>
internal sealed class TailCalibration
{
    private const double Low = 3.0, High = 4.5;

    /// <summary>Gaussian rates of |z| beyond <see cref="Low"/> and <see cref="High"/>.</summary>
    private const double GaussianLowRate = 2.7e-3, GaussianHighRate = 6.8e-6;

    /// <summary>Pseudo-steps of Gaussian behaviour the counts start from.</summary>
    private const double PriorSteps = 1000;

    /// <summary>Acceptable rate of |z| beyond the threshold on an ordinary step (both sides).</summary>
    public const double TargetRate = 3e-5;

    /// <summary>The thresholds never rise beyond this factor: past it a spike would have to be absurd to be seen.</summary>
    private const double MaxFactor = 3;

    private double _steps = PriorSteps, _beyondLow = PriorSteps * GaussianLowRate, _beyondHigh = PriorSteps * GaussianHighRate;
    private double _factor = 1;
    private double _threshold = double.NaN;

    public void Observe(double absoluteZ)
    {
        _steps++;
        if (absoluteZ > Low) _beyondLow++;
        if (absoluteZ > High) _beyondHigh++;
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
        _factor = Math.Clamp(needed / threshold, 1, MaxFactor);
        return _factor;
    }
}
