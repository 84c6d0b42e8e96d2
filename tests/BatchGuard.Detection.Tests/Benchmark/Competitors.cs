namespace BatchGuard.Tests.Detection.Benchmark;

/// <summary>A spike detector people use today, re-implemented from its published rule, fed one loss at a time.</summary>
public interface ICompetitor
{
    string Name { get; }

    /// <summary>True when the rule flags this step.</summary>
    bool Observe(double loss);
}

/// <summary>
/// Lightning Fabric's <c>SpikeDetection</c> with its defaults (mode "min", window 10, warmup 1, atol None, rtol 2.0,
/// finite_only True): a step is a spike when the loss is not finite, or when it did not improve on the last value
/// and |loss − m| ≥ 2·m for m the running mean of the last 10 non-spike losses — i.e. above 3× the mean.
/// Lightning stops training at a spike; here the run goes on, and the spike does not enter the mean (as in Lightning).
/// </summary>
public sealed class LightningSpikeDetection : ICompetitor
{
    private readonly Queue<double> _window = new();
    private double _sum, _last;
    private int _index;

    public string Name => "Lightning SpikeDetection (3× 10-step mean)";

    public bool Observe(double loss)
    {
        var index = _index++;
        var spike = index >= 1 && IsSpike(loss);
        if (!spike && double.IsFinite(loss))
        {
            _window.Enqueue(loss);
            _sum += loss;
            if (_window.Count > 10) _sum -= _window.Dequeue();
            _last = loss;
        }
        return spike;
    }

    private bool IsSpike(double loss)
    {
        if (!double.IsFinite(loss)) return true;
        if (loss - _last <= 0) return false;
        var mean = _window.Count > 0 ? _sum / _window.Count : double.NaN;
        return Math.Abs(loss - mean) >= 2.0 * mean;
    }
}

/// <summary>
/// OLMo-core's <c>SkipStepOptimizer</c> rule (rolling_interval_length 128, sigma_factor 6): once at least 64 losses are
/// held, skip the step when loss − mean > 6·std over the previous up to 128 losses (unbiased std). Every loss enters
/// the window, spikes included, as in OLMo-core; one deviation: a non-finite loss is flagged but kept out of the
/// window (in OLMo-core it would make every step of the next 128 a skip).
/// </summary>
public sealed class OlmoSkipStep : ICompetitor
{
    private const int Interval = 128;
    private readonly Queue<double> _window = new();
    private double _sum, _sumSquares;

    public string Name => "OLMo-core skip step (mean + 6σ, 128 steps)";

    public bool Observe(double loss)
    {
        if (!double.IsFinite(loss)) return true;
        var skip = false;
        if (_window.Count + 1 >= Math.Max(2, Interval / 2))
        {
            var n = _window.Count;
            var mean = _sum / n;
            var std = Math.Sqrt(Math.Max(0, (_sumSquares - n * mean * mean) / (n - 1)));
            skip = loss - mean > 6 * std;
        }
        _window.Enqueue(loss);
        _sum += loss;
        _sumSquares += loss * loss;
        if (_window.Count > Interval)
        {
            var old = _window.Dequeue();
            _sum -= old;
            _sumSquares -= old * old;
        }
        return skip;
    }
}

/// <summary>
/// ZClip's z-score rule (α 0.97, z_thresh 2.5, 25 warm-up steps) applied to the loss: after the warm-up initialises
/// the mean and variance, z = (x − μ)/σ; above 2.5 the step is flagged and the value clipped to μ + 2.5σ before it
/// updates the exponential moving mean and variance, as ZClip does with the gradient norm.
/// </summary>
public sealed class ZClipZScore : ICompetitor
{
    private const double Alpha = 0.97, Threshold = 2.5;
    private const int WarmUp = 25;
    private readonly List<double> _warmUp = [];
    private double _mean, _variance;
    private bool _ready;

    public string Name => "ZClip z-score (EMA α 0.97, z > 2.5)";

    public bool Observe(double loss)
    {
        if (!double.IsFinite(loss)) return true;
        if (!_ready)
        {
            _warmUp.Add(loss);
            if (_warmUp.Count == WarmUp)
            {
                _mean = _warmUp.Average();
                _variance = _warmUp.Sum(x => (x - _mean) * (x - _mean)) / WarmUp;
                _ready = true;
            }
            return false;
        }
        var std = Math.Sqrt(_variance);
        var z = std > 0 ? (loss - _mean) / std : 0;
        var spike = z > Threshold;
        var value = spike ? _mean + Threshold * std : loss;
        _mean = Alpha * _mean + (1 - Alpha) * value;
        _variance = Alpha * _variance + (1 - Alpha) * (value - _mean) * (value - _mean);
        return spike;
    }
}

/// <summary>
/// The alert people write for Weights &amp; Biases (<c>wandb.alert</c> when the loss leaves mean ± 3σ of the last 30
/// logged values): two-sided, sample std, every finite value enters the window.
/// </summary>
public sealed class WandbThreeSigma : ICompetitor
{
    private const int Window = 30;
    private readonly Queue<double> _window = new();
    private double _sum, _sumSquares;

    public string Name => "W&B-style alert (|x − mean| > 3σ, 30 steps)";

    public bool Observe(double loss)
    {
        if (!double.IsFinite(loss)) return true;
        var alert = false;
        if (_window.Count == Window)
        {
            var mean = _sum / Window;
            var std = Math.Sqrt(Math.Max(0, (_sumSquares - Window * mean * mean) / (Window - 1)));
            alert = Math.Abs(loss - mean) > 3 * std;
        }
        _window.Enqueue(loss);
        _sum += loss;
        _sumSquares += loss * loss;
        if (_window.Count > Window)
        {
            var old = _window.Dequeue();
            _sum -= old;
            _sumSquares -= old * old;
        }
        return alert;
    }
}
