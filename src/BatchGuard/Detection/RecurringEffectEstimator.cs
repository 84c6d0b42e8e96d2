namespace BatchGuard.Detection;

/// <summary>
/// Pools the residual of log(loss) at one phase of the epoch (the last step, or the phase of recurring anomalies)
/// over epochs, for logs without batch sizes: a short last batch's effect too small to see in one epoch shows in the
/// mean of many. O(1) memory.
/// </summary>
internal sealed class RecurringEffectEstimator
{
    private int _count;
    private double _sum, _sumSquares, _noiseVariance;

    public void Reset() => (_count, _sum, _sumSquares, _noiseVariance) = (0, 0, 0, 0);

    public void Add(double residual, double sigma)
    {
        _count++;
        _sum += residual;
        _sumSquares += residual * residual;
        _noiseVariance += sigma * sigma;
    }

    /// <summary>
    /// The mean offset at the phase, once it is beyond doubt: at least 3 epochs, at least the noise width σ, and at
    /// least 5 standard errors (the larger of the sample's and the one the noise scale implies).
    /// </summary>
    public double? Established(double sigma)
    {
        if (_count < 3) return null;
        var mean = _sum / _count;
        var sampleVariance = Math.Max(0, (_sumSquares - _count * mean * mean) / (_count - 1));
        var error = Math.Sqrt(Math.Max(sampleVariance, _noiseVariance / _count) / _count);
        return Math.Abs(mean) >= Math.Max(sigma, 0.05) && Math.Abs(mean) >= 5 * error ? mean : null;
    }
}
