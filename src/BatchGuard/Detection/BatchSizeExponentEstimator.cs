namespace BatchGuard.Detection;

/// <summary>
/// Pools partial batches over epochs to estimate k in loss ∝ b^k: the regression through the origin of
/// r = log(loss/baseline) on x = log(b/B), weighted by b/B (a batch of b samples has noise variance ∝ 1/b), with
/// Huber re-weighting so that one unrelated spike on a partial batch does not decide k. Keeps the most recent
/// <see cref="Capacity"/> partial batches, so memory stays bounded.
/// </summary>
internal sealed class BatchSizeExponentEstimator
{
    public const int Capacity = 512;
    private const double HuberClip = 2.0;

    private readonly double[] _x = new double[Capacity];
    private readonly double[] _r = new double[Capacity];
    private readonly double[] _w = new double[Capacity];
    private readonly double[] _sigma = new double[Capacity];
    private int _count, _next;

    public int Count => _count;

    /// <summary>Latest estimate, refreshed on every <see cref="Add"/>.</summary>
    public (double K, double StandardError)? Estimate { get; private set; }

    /// <param name="sizeRatio">b/B, in (0, 1).</param>
    /// <param name="residual">log(loss) − baseline, in log units.</param>
    /// <param name="sigma">The full-batch noise scale at the time, in log units.</param>
    public void Add(double sizeRatio, double residual, double sigma)
    {
        _x[_next] = Math.Log(sizeRatio);
        _r[_next] = residual;
        _w[_next] = sizeRatio;
        _sigma[_next] = sigma;
        _next = (_next + 1) % Capacity;
        if (_count < Capacity) _count++;
        Estimate = _count >= 2 ? Fit() : null;
    }

    /// <summary>
    /// The estimate that adding this partial batch would give, without adding it. With no earlier partial batch the
    /// estimate rests on this one alone and its error on the known noise scale only (there is no sample error yet).
    /// Used by the guard to repair a short batch in the very step it is seen, before backward.
    /// </summary>
    public (double K, double StandardError)? Preview(double sizeRatio, double residual, double sigma)
    {
        if (!(sizeRatio > 0 && sizeRatio < 1) || !double.IsFinite(residual) || !(sigma > 0)) return null;
        if (_count == 0)
        {
            var x = Math.Log(sizeRatio);
            return (residual / x, sigma / Math.Sqrt(sizeRatio) / Math.Abs(x));
        }
        var (count, next, estimate) = (_count, _next, Estimate);
        var slot = (_x[_next], _r[_next], _w[_next], _sigma[_next]);
        Add(sizeRatio, residual, sigma);
        var preview = Estimate;
        (_count, _next, Estimate) = (count, next, estimate);
        (_x[_next], _r[_next], _w[_next], _sigma[_next]) = slot;
        return preview;
    }

    /// <summary>
    /// True when k differs from 0 beyond doubt (≥ 3 partial batches, |k| ≥ 0.25, |k| ≥ 5 standard errors): then a
    /// partial batch whose residual matches k·log(b/B) is an anomaly even when it is small next to the noise.
    /// </summary>
    public bool IsEstablished =>
        _count >= 3 && Estimate is { } e && Math.Abs(e.K) >= 0.25 && Math.Abs(e.K) >= 5 * e.StandardError;

    private (double K, double StandardError) Fit()
    {
        double k = 0;
        Span<double> weights = stackalloc double[_count];
        for (var i = 0; i < _count; i++) weights[i] = _w[i];
        for (var iteration = 0; iteration < 5; iteration++)
        {
            double sxy = 0, sxx = 0;
            for (var i = 0; i < _count; i++) { sxy += weights[i] * _x[i] * _r[i]; sxx += weights[i] * _x[i] * _x[i]; }
            if (sxx <= 0) return (0, double.PositiveInfinity);
            k = sxy / sxx;
            for (var i = 0; i < _count; i++)
            {
                // Huber weights on the residual scaled by the point's own noise (σ·√(B/b)).
                var scale = _sigma[i] / Math.Sqrt(_w[i]);
                var u = Math.Abs(_r[i] - k * _x[i]) / scale;
                weights[i] = _w[i] * (u <= HuberClip ? 1 : HuberClip / u);
            }
        }

        double rss = 0, wxx = 0, knownVariance = 0;
        for (var i = 0; i < _count; i++)
        {
            var e = _r[i] - k * _x[i];
            rss += weights[i] * e * e;
            wxx += weights[i] * _x[i] * _x[i];
            // With the noise scale known, Var(k) = 1 / Σ (x²·b/B / σ²).
            knownVariance += _w[i] * _x[i] * _x[i] / (_sigma[i] * _sigma[i]);
        }
        var sampleError = _count > 1 ? Math.Sqrt(rss / (_count - 1) / wxx) : double.PositiveInfinity;
        var knownError = 1 / Math.Sqrt(knownVariance);
        // The larger of the two: the sample error is unreliable with few batches, the known one with heavy tails.
        return (k, Math.Max(sampleError, knownError));
    }
}
