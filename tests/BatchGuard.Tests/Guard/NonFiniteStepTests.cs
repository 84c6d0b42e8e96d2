using BatchGuard.Detection;
using BatchGuard.Guard;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

/// <summary>NaN and infinity never reach the weights, on either path, whatever the policy; the loop carries on.</summary>
public sealed class NonFiniteStepTests
{
    public static TheoryData<GuardExecution> Paths => new() { GuardExecution.Host, GuardExecution.Device };

    [Theory]
    [MemberData(nameof(Paths))]
    public void A_NaN_loss_skips_the_step_and_the_weights_stay_finite_and_unchanged(GuardExecution path)
    {
        using var data = new TinyRegression(32);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { Execution = path, ReadbackInterval = 1 });
        var completed = new List<GuardStepResult>();
        guard.StepCompleted += (_, r) => completed.Add(r);
        float[] before = data.Weights();

        using (NewDisposeScope())
        {
            guard.Step(data.MeanLoss(data.X, data.Y) * double.NaN, 32);
        }

        Assert.Equal(before, data.Weights());
        var step = Assert.Single(completed);
        Assert.True(step.Action.HasFlag(GuardAction.Skipped));
        Assert.Equal(0, step.ClipFactor);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void An_infinite_input_poisoning_the_gradients_never_reaches_the_weights(GuardExecution path)
    {
        using var data = new TinyRegression(32);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { Execution = path, Policy = GuardPolicy.Clip, ReadbackInterval = 4 });

        for (int i = 0; i < 12; i++)
        {
            using var scope = NewDisposeScope();
            var x = i % 3 == 1 ? data.X.clone().index_fill_(0, tensor(new long[] { 5 }), double.PositiveInfinity) : data.X;
            guard.Step(data.MeanLoss(x, data.Y), 32);
        }
        guard.Flush();

        Assert.All(data.Weights(), w => Assert.True(float.IsFinite(w)));
        Assert.Equal(4, guard.Report().NonFiniteSteps);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void NaN_everywhere_is_reported_every_step_and_training_carries_on(GuardExecution path)
    {
        using var data = new TinyRegression(16);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05, momentum: 0.9);
        var logger = new RecordingLogger();
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { Execution = path, Policy = GuardPolicy.Clip | GuardPolicy.Skip | GuardPolicy.Repair }, logger);
        float[] before = data.Weights();

        for (int i = 0; i < 50; i++)
        {
            using var scope = NewDisposeScope();
            guard.Step(full(1, double.NaN).sum().requires_grad_() + 0 * data.MeanLoss(data.X, data.Y), 16);
        }
        var report = guard.Report();

        Assert.Equal(before, data.Weights());
        Assert.Equal(50, report.NonFiniteSteps);
        Assert.Equal(50, report.SkippedSteps);
        Assert.Equal(50, logger.Entries.Count(e => e.Id.Id == 5101));
    }

    [Fact]
    public void A_zero_size_batch_is_skipped_as_non_finite_and_the_next_steps_train_normally()
    {
        using var data = new TinyRegression(32);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { Policy = GuardPolicy.Clip });

        GuardStepResult empty, next;
        using (NewDisposeScope())
        {
            var x = data.X[TensorIndex.Slice(0, 0)];
            empty = guard.Step(data.MeanLoss(x, data.Y[TensorIndex.Slice(0, 0)]), x.shape[0]);
        }
        using (NewDisposeScope())
        {
            next = guard.Step(data.MeanLoss(data.X, data.Y), 32);
        }

        Assert.Equal(0, empty.BatchSize);
        Assert.False(empty.ShouldStep);
        Assert.True(next.ShouldStep);
        Assert.All(data.Weights(), w => Assert.True(float.IsFinite(w)));
    }

    [Fact]
    public void Policy_Throw_stops_on_a_non_finite_step_before_the_optimizer_applies_it()
    {
        using var data = new TinyRegression(32);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { Policy = GuardPolicy.Throw });
        float[] before = data.Weights();

        using var scope = NewDisposeScope();
        var e = Assert.Throws<TrainingAnomalyException>(() => guard.Step(data.MeanLoss(data.X, data.Y) * double.PositiveInfinity, 32));

        Assert.Equal(AnomalyKind.NonFinite, e.Anomaly.Kind);
        Assert.Equal(0, e.Anomaly.Step);
        Assert.Equal(before, data.Weights());
    }
}
