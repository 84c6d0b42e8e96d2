using BatchGuard.Guard;
using TorchSharp;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

/// <summary>The device path (tensor ops, read back every N steps) decides exactly as the host path (doubles, every step).</summary>
public sealed class ExecutionPathEquivalenceTests
{
    [Fact]
    public void The_clip_rule_gives_bit_identical_factors_as_doubles_and_as_tensors()
    {
        TorchNativeBackend.EnsureLoaded();
        var adaptive = new AdaptiveClipOptions { WarmupSteps = 5, ZThreshold = 2.0, Alpha = 0.9 };
        var host = new HostClipState(maxNorm: 3.0, adaptive);
        using var device = new DeviceClipState(maxNorm: 3.0, adaptive, CPU);
        var rng = new Random(3);
        int clipped = 0, skipped = 0;

        for (int i = 0; i < 400; i++)
        {
            double norm = i % 37 == 36 ? double.NaN : i % 23 == 22 ? 20 * rng.NextDouble() : 0.5 + rng.NextDouble();
            double loss = i % 51 == 50 ? double.PositiveInfinity : rng.NextDouble();
            double expected = host.Decide(loss, norm);

            using var scope = NewDisposeScope();
            var (factor, finite) = device.Decide(tensor(loss, ScalarType.Float64), tensor(norm, ScalarType.Float64));

            Assert.Equal(expected, factor.ToDouble()); // exact, not approximate
            Assert.Equal(expected > 0, finite.ToBoolean());
            if (expected == 0) skipped++;
            else if (expected < 1) clipped++;
        }
        Assert.True(clipped >= 15 && skipped >= 15, $"the sequence must exercise the rule: {clipped} clipped, {skipped} skipped");
    }

    private static (List<GuardStepResult> Steps, float[] Weights) Train(GuardExecution path, int readbackInterval)
    {
        using var data = new TinyRegression(60, seed: 11);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05); // no momentum: a zeroed step is a true no-op
        var options = new GuardOptions
        {
            Policy = GuardPolicy.Clip,
            MaxGradNorm = 2.0,
            AdaptiveClip = new AdaptiveClipOptions { WarmupSteps = 8 },
            Execution = path,
            ReadbackInterval = readbackInterval,
        };
        var steps = new List<GuardStepResult>();
        using (var guard = new TrainingGuard(data.Model.parameters(), optimizer, options))
        {
            guard.StepCompleted += (_, r) => steps.Add(r);
            int i = 0;
            for (int epoch = 0; epoch < 6; epoch++)
            {
                foreach (var (x, y) in data.Batches(16))
                {
                    using var scope = NewDisposeScope();
                    var loss = data.MeanLoss(x, y);
                    if (i == 9 || i == 17) loss = loss * double.NaN;  // skipped
                    if (i == 13 || i == 20) loss = loss * 40;         // a gradient burst: clipped
                    guard.Step(loss, x.shape[0]);
                    i++;
                }
            }
        } // Dispose reads back the last pending steps
        return (steps, data.Weights());
    }

    [Fact]
    public void Host_and_device_paths_take_the_same_decisions_and_reach_the_same_weights()
    {
        var (hostSteps, hostWeights) = Train(GuardExecution.Host, readbackInterval: 1);
        var (deviceSteps, deviceWeights) = Train(GuardExecution.Device, readbackInterval: 7);

        Assert.Equal(24, hostSteps.Count);
        Assert.Equal(hostSteps.Select(s => s.Step), deviceSteps.Select(s => s.Step));
        Assert.Equal(hostSteps.Select(s => s.Action), deviceSteps.Select(s => s.Action));
        Assert.Contains(hostSteps, s => s.Action.HasFlag(GuardAction.Clipped));
        Assert.Equal(2, hostSteps.Count(s => s.Action.HasFlag(GuardAction.Skipped)));
        for (int i = 0; i < hostSteps.Count; i++)
        {
            Assert.Equal(hostSteps[i].ClipFactor!.Value, deviceSteps[i].ClipFactor!.Value, 1e-6);
            if (double.IsFinite(hostSteps[i].GradNorm!.Value)) Assert.Equal(hostSteps[i].GradNorm!.Value, deviceSteps[i].GradNorm!.Value, 1e-5 * hostSteps[i].GradNorm!.Value);
        }
        Assert.Equal(hostWeights.Length, deviceWeights.Length);
        for (int i = 0; i < hostWeights.Length; i++) Assert.Equal(hostWeights[i], deviceWeights[i], 1e-5f);
    }

    [Fact]
    public void The_device_path_returns_deferred_results_and_reports_them_at_the_read_back()
    {
        using var data = new TinyRegression(16);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { Execution = GuardExecution.Device, ReadbackInterval = 4 });
        var completed = new List<long>();
        guard.StepCompleted += (_, r) => completed.Add(r.Step);

        var results = new List<GuardStepResult>();
        for (int i = 0; i < 6; i++)
        {
            using var scope = NewDisposeScope();
            results.Add(guard.Step(data.MeanLoss(data.X, data.Y), 16));
        }

        Assert.All(results, r => Assert.True(r.Action.HasFlag(GuardAction.Deferred) && r.Loss is null && r.ShouldStep));
        Assert.Equal(new long[] { 0, 1, 2, 3 }, completed);
        guard.Flush();
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, completed);
        Assert.True(guard.UsesDevicePath);
    }
}
