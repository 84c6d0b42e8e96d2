using TorchSharp;
using static TorchSharp.torch;

namespace BatchGuard.Guard;

/// <summary>
/// The per-step numeric decision, defined once and evaluated in two places: in .NET doubles (<see cref="HostClipState"/>)
/// or as float64 tensor operations on the parameters' device (<see cref="DeviceClipState"/>). Both evaluate exactly
/// the same IEEE operations in the same order, so their decisions agree bit for bit given the same norm.
/// <list type="bullet">
/// <item>finite = isfinite(norm) ∧ isfinite(loss); a non-finite step gets factor 0 (skipped) and leaves the statistics alone.</item>
/// <item>clip = min(1, maxNorm/(norm+ε), [after warm-up] (μ + z·σ)/(norm+ε)).</item>
/// <item>statistics: x = norm·clip; first step μ = x, σ² = 0; then σ² ← α·σ² + (1−α)(x−μ)², μ ← α·μ + (1−α)·x.</item>
/// </list>
/// </summary>
internal static class ClipRule
{
    /// <summary>As in PyTorch's clip_grad_norm_.</summary>
    public const double Eps = 1e-6;

    /// <summary>Total 2-norm of the gradients, as a 0-dim float64 tensor on their device (no host sync).</summary>
    /// <remarks>
    /// One norm kernel per gradient, one stack, one norm, one cast: per-parameter norms stay in the gradients' dtype
    /// (as in clip_grad_norm_) and are only cast when the gradients' dtypes differ.
    /// </remarks>
    public static Tensor TotalNorm(IReadOnlyList<Tensor> grads, Device device)
    {
        if (grads.Count == 0) return zeros(Array.Empty<long>(), ScalarType.Float64, device);
        var norms = new Tensor[grads.Count];
        bool mixed = false;
        for (int i = 0; i < grads.Count; i++)
        {
            norms[i] = linalg.vector_norm(grads[i]);
            mixed |= grads[i].dtype != grads[0].dtype;
            // Parameters spread over devices (model parallel): gather the per-parameter norms on the first one.
            if (norms[i].device_type != device.type || norms[i].device_index != device.index) norms[i] = norms[i].to(device);
        }
        if (mixed)
        {
            for (int i = 0; i < norms.Length; i++) norms[i] = norms[i].to_type(ScalarType.Float64);
        }
        return linalg.vector_norm(stack(norms)).to_type(ScalarType.Float64);
    }
}

/// <summary>The clip rule's running state in .NET doubles.</summary>
internal sealed class HostClipState
{
    private readonly double? _maxNorm;
    private readonly AdaptiveClipOptions? _adaptive;
    private double _mean, _var;
    private long _count;

    public HostClipState(double? maxNorm, AdaptiveClipOptions? adaptive)
    {
        _maxNorm = maxNorm;
        _adaptive = adaptive;
    }

    /// <summary>Returns the factor to multiply the gradients by: 0 for a non-finite step, else the clip factor (≤ 1).</summary>
    public double Decide(double loss, double norm)
    {
        if (!(double.IsFinite(norm) && double.IsFinite(loss))) return 0;
        double clip = 1;
        if (_maxNorm is double m) clip = Math.Min(clip, m / (norm + ClipRule.Eps));
        if (_adaptive is { } a)
        {
            if (_count >= a.WarmupSteps) clip = Math.Min(clip, (_mean + a.ZThreshold * Math.Sqrt(_var)) / (norm + ClipRule.Eps));
            double x = norm * clip;
            if (_count == 0)
            {
                _mean = x;
                _var = 0;
            }
            else
            {
                double d = x - _mean;
                _var = a.Alpha * _var + (1 - a.Alpha) * (d * d);
                _mean = a.Alpha * _mean + (1 - a.Alpha) * x;
            }
            _count++;
        }
        return clip;
    }
}

/// <summary>The clip rule's running state as tensors on the parameters' device: no host sync per step.</summary>
internal sealed class DeviceClipState : IDisposable
{
    private readonly double? _maxNorm;
    private readonly AdaptiveClipOptions? _adaptive;
    private readonly Tensor _mean, _var, _count;

    public DeviceClipState(double? maxNorm, AdaptiveClipOptions? adaptive, Device device)
    {
        _maxNorm = maxNorm;
        _adaptive = adaptive;
        // Guard-owned state outlives every dispose scope the user may have open.
        _mean = zeros(Array.Empty<long>(), ScalarType.Float64, device).DetachFromDisposeScope();
        _var = zeros(Array.Empty<long>(), ScalarType.Float64, device).DetachFromDisposeScope();
        _count = zeros(Array.Empty<long>(), ScalarType.Float64, device).DetachFromDisposeScope();
    }

    /// <summary>
    /// The factor tensor (0-dim float64): 0 for a non-finite step, else the clip factor; and the finite flag.
    /// Call inside a dispose scope: the results are temporaries of that scope.
    /// </summary>
    public (Tensor Factor, Tensor Finite) Decide(Tensor loss, Tensor norm)
    {
        var finite = isfinite(norm).logical_and(isfinite(loss));
        var clip = ones_like(norm);
        if (_maxNorm is double m) clip = clip.minimum(m / (norm + ClipRule.Eps));
        if (_adaptive is { } a)
        {
            var limit = (_mean + a.ZThreshold * _var.sqrt()) / (norm + ClipRule.Eps);
            clip = where(_count.ge(a.WarmupSteps), clip.minimum(limit), clip);
            var x = norm * clip;
            var first = _count.eq(0);
            var d = x - _mean;
            var newVar = where(first, zeros_like(_var), a.Alpha * _var + (1 - a.Alpha) * (d * d));
            var newMean = where(first, x, a.Alpha * _mean + (1 - a.Alpha) * x);
            _var.copy_(where(finite, newVar, _var));
            _mean.copy_(where(finite, newMean, _mean));
            _count.add_(finite.to_type(ScalarType.Float64));
        }
        return (where(finite, clip, zeros_like(clip)), finite);
    }

    public void Dispose()
    {
        _mean.Dispose();
        _var.Dispose();
        _count.Dispose();
    }
}
