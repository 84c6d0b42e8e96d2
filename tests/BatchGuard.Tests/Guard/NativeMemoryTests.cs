using System.Diagnostics;
using BatchGuard.Guard;
using TorchSharp;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

/// <summary>The guard disposes every tensor it creates: live tensors and process memory stay flat over many steps.</summary>
public sealed class NativeMemoryTests
{
    [Theory]
    [InlineData(GuardExecution.Host, 20_000)]
    [InlineData(GuardExecution.Device, 10_000)]
    public void Many_guarded_steps_leave_no_tensor_behind_and_memory_flat(GuardExecution path, int steps)
    {
        using var data = new TinyRegression(8, hidden: 4);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.001, momentum: 0.9);
        var options = new GuardOptions { Policy = GuardPolicy.Clip | GuardPolicy.Skip | GuardPolicy.Repair, MaxGradNorm = 1, Execution = path, StepsPerEpoch = 50, NominalBatchSize = 8 };
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, options);

        void Run(int steps)
        {
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                var loss = data.MeanLoss(data.X, data.Y);
                guard.Step(i % 997 == 0 ? loss * double.NaN : loss, 8);
            }
        }

        Run(2_000); // warm-up: caches, allocator pools, the device state
        guard.Flush();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long rssBefore = Process.GetCurrentProcess().WorkingSet64;

        Run(steps);
        guard.Flush();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        long grownMb = (Process.GetCurrentProcess().WorkingSet64 - rssBefore) / (1 << 20);
        Assert.True(grownMb < 48, $"process memory grew by {grownMb} MB over {steps} steps");
        Assert.Equal(2_000 + steps, guard.Steps);
    }
}
