using BatchGuard.Guard;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BatchGuard.Benchmarks;

/// <summary>
/// The guard's cost on a real CPU training step: forward, loss, backward, clip, SGD-momentum step.
/// Baseline: the plain step that calls clip_grad_norm_ itself. Guarded: the same step through
/// <see cref="TrainingGuard.Step"/> (detection, fixed + adaptive clip, skip decision).
/// </summary>
[Config(typeof(Config))]
[MemoryDiagnoser]
[MedianColumn]
public class GuardOverheadBenchmarks
{
    private sealed class Config : ManualConfig
    {
        // In-process: the benchmark runs against this build's patched native library. One torch thread: the
        // shared build machine has 2 cores, and intra-op threads would measure contention, not the guard.
        public Config() => AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(30));
    }

    private const int BatchSize = 64;
    private const double MaxNorm = 1.0;

    private Sequential _plainModel = null!, _guardedModel = null!, _deviceModel = null!;
    private optim.Optimizer _plainOptimizer = null!, _guardedOptimizer = null!, _deviceOptimizer = null!;
    private TrainingGuard _guard = null!, _deviceGuard = null!;
    private Tensor _x = null!, _y = null!;

    // Components on gradients left in place by one backward: what each side does between backward and step.
    private Sequential _componentModel = null!;
    private TrainingGuard _componentGuard = null!;
    private Tensor _componentLoss = null!;

    /// <summary>small: 32-64-1 (2.2k parameters); 1M: 512-1024-512-1 (1.05M parameters).</summary>
    [Params("small", "1M")]
    public string Model { get; set; } = "small";

    [GlobalSetup]
    public void Setup()
    {
        TorchNativeBackend.EnsureLoaded();
        torch.set_num_threads(1);
        random.manual_seed(1);
        int[] widths = Model == "small" ? new[] { 32, 64, 1 } : new[] { 512, 1024, 512, 1 };
        _x = randn(BatchSize, widths[0]);
        _y = randn(BatchSize, 1);
        (_plainModel, _plainOptimizer) = Create(widths);
        (_guardedModel, _guardedOptimizer) = Create(widths);
        (_deviceModel, _deviceOptimizer) = Create(widths);
        var options = new GuardOptions { Policy = GuardPolicy.Clip | GuardPolicy.Skip, MaxGradNorm = MaxNorm, NominalBatchSize = BatchSize };
        _guard = new TrainingGuard(_guardedModel.parameters(), _guardedOptimizer, options with { Execution = GuardExecution.Host });
        _deviceGuard = new TrainingGuard(_deviceModel.parameters(), _deviceOptimizer, options with { Execution = GuardExecution.Device });

        (_componentModel, _) = Create(widths);
        using (var loss = nn.functional.mse_loss(_componentModel.forward(_x), _y))
        {
            loss.backward();
            _componentLoss = loss.detach().clone();
        }
        _componentGuard = new TrainingGuard(_componentModel.parameters(), null, options with { Execution = GuardExecution.Host });
    }

    private static (Sequential, optim.Optimizer) Create(int[] widths)
    {
        var layers = new List<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i + 1 < widths.Length; i++)
        {
            if (i > 0) layers.Add(nn.ReLU());
            layers.Add(nn.Linear(widths[i], widths[i + 1]));
        }
        var model = nn.Sequential(layers.ToArray());
        return (model, optim.SGD(model.parameters(), 1e-3, momentum: 0.9));
    }

    [Benchmark(Baseline = true, Description = "plain step + clip_grad_norm_")]
    public void PlainStep()
    {
        using var scope = NewDisposeScope();
        _plainOptimizer.zero_grad();
        var loss = nn.functional.mse_loss(_plainModel.forward(_x), _y);
        loss.backward();
        nn.utils.clip_grad_norm_(_plainModel.parameters(), MaxNorm);
        _plainOptimizer.step();
    }

    [Benchmark(Description = "guard.Step (host path)")]
    public GuardAction GuardedStep()
    {
        using var scope = NewDisposeScope();
        var loss = nn.functional.mse_loss(_guardedModel.forward(_x), _y);
        return _guard.Step(loss, BatchSize).Action;
    }

    [Benchmark(Description = "guard.Step (device path on CPU)")]
    public GuardAction DevicePathStep()
    {
        using var scope = NewDisposeScope();
        var loss = nn.functional.mse_loss(_deviceModel.forward(_x), _y);
        return _deviceGuard.Step(loss, BatchSize).Action;
    }

    [Benchmark(Description = "component: clip_grad_norm_ alone")]
    public double ClipGradNormOnly() => nn.utils.clip_grad_norm_(_componentModel.parameters(), MaxNorm);

    [Benchmark(Description = "component: guard.AfterBackward alone")]
    public GuardAction AfterBackwardOnly() => _componentGuard.AfterBackward(_componentLoss, BatchSize).Action;

    [GlobalCleanup]
    public void Cleanup()
    {
        _guard.Dispose();
        _deviceGuard.Dispose();
        _componentGuard.Dispose();
        foreach (var d in new IDisposable[] { _componentModel, _componentLoss, _plainModel, _guardedModel, _deviceModel, _plainOptimizer, _guardedOptimizer, _deviceOptimizer, _x, _y }) d.Dispose();
    }
}
