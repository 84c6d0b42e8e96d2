using TorchSharp;
using BatchGuard.Guard;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

public sealed class ClippingTests
{
    private static double GradNorm(TinyRegression data)
    {
        using var scope = NewDisposeScope();
        return Math.Sqrt(data.Model.parameters().Sum(p => p.grad!.pow(2).sum().ToDouble()));
    }

    [Theory]
    [InlineData(GuardExecution.Host)]
    [InlineData(GuardExecution.Device)]
    public void A_fixed_max_norm_scales_the_gradients_down_to_it_like_clip_grad_norm(GuardExecution path)
    {
        using var data = new TinyRegression(32);
        using var guard = new TrainingGuard(data.Model.parameters(), null,
            new GuardOptions { Policy = GuardPolicy.Clip, MaxGradNorm = 0.01, AdaptiveClip = null, Execution = path, ReadbackInterval = 1 });
        var completed = new List<GuardStepResult>();
        guard.StepCompleted += (_, r) => completed.Add(r);

        using var loss = data.MeanLoss(data.X, data.Y);
        loss.backward();
        double before = GradNorm(data);
        var result = guard.AfterBackward(loss, 32);

        Assert.True(result.ShouldStep);
        var done = Assert.Single(completed);
        Assert.True(done.Action.HasFlag(GuardAction.Clipped));
        Assert.Equal(before, done.GradNorm!.Value, 1e-4 * before);
        Assert.Equal(0.01, GradNorm(data), 1e-6);
    }

    [Fact]
    public void The_adaptive_clip_leaves_ordinary_steps_nearly_alone_and_cuts_a_gradient_burst_to_mean_plus_z_sigma()
    {
        using var data = new TinyRegression(64);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.01);
        var adaptive = new AdaptiveClipOptions { WarmupSteps = 10, ZThreshold = 2.5 };
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { Policy = GuardPolicy.Clip, AdaptiveClip = adaptive });

        var results = new List<GuardStepResult>();
        for (int i = 0; i < 30; i++)
        {
            using var scope = NewDisposeScope();
            var loss = data.MeanLoss(data.X, data.Y);
            results.Add(guard.Step(i == 25 ? loss * 100 : loss, 64));
        }

        Assert.All(results.Take(10), r => Assert.Equal(1.0, r.ClipFactor)); // warm-up
        Assert.All(results.Skip(10).Take(15), r => Assert.True(r.ClipFactor > 0.95, $"step {r.Step} clipped to {r.ClipFactor}"));
        var burst = results[25];
        Assert.True(burst.Action.HasFlag(GuardAction.Clipped));
        Assert.InRange(burst.ClipFactor!.Value, 0.005, 0.05); // the burst is ~100x the typical norm
        Assert.InRange(burst.GradNorm!.Value * burst.ClipFactor.Value, results[24].GradNorm!.Value * 0.9, results[24].GradNorm!.Value * 3);
    }

    [Fact]
    public void Without_the_Clip_policy_the_gradients_are_left_alone()
    {
        using var data = new TinyRegression(32);
        using var guard = new TrainingGuard(data.Model.parameters(), null, new GuardOptions { MaxGradNorm = 1e-6 });
        using var loss = data.MeanLoss(data.X, data.Y);
        loss.backward();
        double before = GradNorm(data);

        var result = guard.AfterBackward(loss, 32);

        Assert.Equal(1.0, result.ClipFactor);
        Assert.Equal(before, GradNorm(data));
    }
}
