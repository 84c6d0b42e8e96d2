using BatchGuard.Detection;
using BatchGuard.Guard;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

public sealed class SkipPolicyTests
{
    private const int SpikeStep = 40;

    /// <summary>40 ordinary steps (past the detector's warm-up), then one whose loss is 1000× too large.</summary>
    private static (GuardStepResult Spike, float[] Before, float[] After) TrainIntoSpike(GuardOptions options, RecordingLogger? logger = null)
    {
        using var data = new TinyRegression(64, seed: 3);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.01);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, options with { NominalBatchSize = 64 }, logger);
        var completed = new List<GuardStepResult>();
        guard.StepCompleted += (_, r) => completed.Add(r);
        float[] before = [];
        for (int i = 0; i <= SpikeStep; i++)
        {
            if (i == SpikeStep) before = data.Weights();
            using var scope = NewDisposeScope();
            var loss = data.MeanLoss(data.X, data.Y);
            guard.Step(i == SpikeStep ? loss * 1000 : loss, 64);
        }
        guard.Flush();
        return (completed.Single(r => r.Step == SpikeStep), before, data.Weights());
    }

    [Fact]
    public void Policy_Skip_does_not_apply_a_step_the_detector_flags_as_a_spike()
    {
        var (spike, before, after) = TrainIntoSpike(new GuardOptions { Policy = GuardPolicy.Skip });

        Assert.Equal(AnomalyKind.Spike, spike.Anomaly?.Kind);
        Assert.Equal(AnomalyCause.Other, spike.Anomaly?.Cause);
        Assert.True(spike.Action.HasFlag(GuardAction.Skipped));
        Assert.Equal(before, after);
    }

    [Fact]
    public void Without_Skip_the_flagged_spike_is_reported_and_applied()
    {
        var (spike, before, after) = TrainIntoSpike(new GuardOptions());

        Assert.Equal(AnomalyKind.Spike, spike.Anomaly?.Kind);
        Assert.Equal(GuardAction.Warned, spike.Action);
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void On_the_device_path_a_spike_is_found_at_the_read_back_and_the_skip_is_logged_as_not_applied()
    {
        var logger = new RecordingLogger();
        var (spike, _, _) = TrainIntoSpike(new GuardOptions { Policy = GuardPolicy.Skip, Execution = GuardExecution.Device, ReadbackInterval = 8 }, logger);

        Assert.Equal(AnomalyKind.Spike, spike.Anomaly?.Kind);
        Assert.False(spike.Action.HasFlag(GuardAction.Skipped));
        Assert.Contains(logger.Entries, e => e.Id.Id == 5105 && (long)e.Values["Step"]! == SpikeStep);
    }

    [Fact]
    public void On_the_device_path_a_non_finite_step_with_momentum_keeps_the_weights_finite_but_is_not_a_no_op()
    {
        // Documented limit: the device path zeroes the gradients and still calls optimizer.step(), so momentum moves
        // the weights; the host path does not call step() at all.
        foreach (var (path, moves) in new[] { (GuardExecution.Device, true), (GuardExecution.Host, false) })
        {
            using var data = new TinyRegression(16);
            using var optimizer = optim.SGD(data.Model.parameters(), 0.05, momentum: 0.9);
            using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { Execution = path });
            using (NewDisposeScope()) guard.Step(data.MeanLoss(data.X, data.Y), 16);
            float[] before = data.Weights();

            using (NewDisposeScope()) guard.Step(data.MeanLoss(data.X, data.Y) * double.NaN, 16);
            guard.Flush();

            Assert.All(data.Weights(), w => Assert.True(float.IsFinite(w)));
            Assert.Equal(moves, !before.SequenceEqual(data.Weights()));
        }
    }
}
