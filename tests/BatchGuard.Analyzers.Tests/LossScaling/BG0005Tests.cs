using BatchGuard.Analyzers.CodeFixes.LossScaling;
using BatchGuard.Analyzers.Tests.BatchDegree;
using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyLoss = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.LossScalingRules>;
using VerifyFix = BatchGuard.Analyzers.Tests.BatchDegree.CompilationEndFix<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.CodeFixes.LossScaling.GuardCountCodeFix>;

namespace BatchGuard.Analyzers.Tests.LossScaling;

public sealed class BG0005Tests
{
    private static string Train(string loopBody) => TestReferences.Usings + $$"""
        class Trainer
        {
            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                var loader = torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: true);
                foreach (var b in loader)
                {
                    var conf = net.forward(b["x"]);
                    var target = b["y"];
                    var positives = target > 0;
                    {{loopBody}}
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task Sum_divided_by_the_number_of_positives_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss4 = {|BG0005:conf.sum() / positives.sum()|};
            loss4.backward();
            """));
    }

    [Fact]
    public async Task Division_by_count_nonzero_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = {|BG0005:(conf * positives).sum().div(positives.count_nonzero())|};
            loss.backward();
            """));
    }

    [Fact]
    public async Task Division_by_a_host_count_read_from_the_batch_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            long numPositives = positives.sum().item<long>();
            var loss = {|BG0005:(conf * positives).sum() / numPositives|};
            loss.backward();
            """));
    }

    [Fact]
    public async Task Count_clamped_to_at_least_one_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var a = conf.sum() / positives.sum().clamp_min(1);
            var c = conf.sum() / positives.sum().clamp(min: 1);
            (a + c).backward();
            """));
    }

    [Fact]
    public async Task Host_count_guarded_by_Math_Max_or_a_test_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            long numPositives = positives.sum().item<long>();
            var a = conf.sum() / Math.Max(numPositives, 1);
            long n = positives.sum().item<long>();
            if (n == 0) continue;
            var c = conf.sum() / n;
            (a + c).backward();
            """));
    }

    [Fact]
    public async Task Division_by_the_actual_batch_size_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = conf.sum() / conf.shape[0];
            loss.backward();
            """));
    }

    [Fact]
    public async Task Fix_clamps_a_tensor_count_and_keeps_comments()
    {
        await VerifyFix.Verify(Train("""
            var loss = {|BG0005:conf.sum() / /* matches */ positives.sum()|}; // mean over positives
            loss.backward();
            """), Train("""
            var loss = conf.sum() / /* matches */ positives.sum().clamp_min(1); // mean over positives
            loss.backward();
            """));
    }

    [Fact]
    public async Task Fix_wraps_a_host_count_in_Math_Max()
    {
        await VerifyFix.Verify(Train("""
            long numPositives = positives.sum().item<long>();
            var loss = {|BG0005:(conf * positives).sum() / numPositives|};
            loss.backward();
            """), Train("""
            long numPositives = positives.sum().item<long>();
            var loss = (conf * positives).sum() / Math.Max(numPositives, 1);
            loss.backward();
            """));
    }

    [Fact]
    public async Task Fix_all_guards_every_count()
    {
        await VerifyFix.Verify(Train("""
            var a = {|BG0005:conf.sum() / positives.sum()|};
            var c = {|BG0005:(conf * positives).sum().div(positives.count_nonzero())|};
            (a + c).backward();
            """), Train("""
            var a = conf.sum() / positives.sum().clamp_min(1);
            var c = (conf * positives).sum().div(positives.count_nonzero().clamp_min(1));
            (a + c).backward();
            """));
    }
}
