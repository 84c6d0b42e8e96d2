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

    // Guards an earlier version did not read, each found by a review of realistic code.
    [Theory]
    [InlineData("""
        if (!positives.any().item<bool>()) continue;
        var loss = conf.sum() / positives.sum();
        """)]
    [InlineData("""
        if (positives.sum().item<long>() == 0) continue;
        var loss = conf.sum() / positives.sum();
        """)]
    [InlineData("""
        var numPos = positives.sum();
        long nPos = numPos.item<long>();
        if (nPos == 0) continue;
        var loss = conf.sum() / numPos;
        """)]
    [InlineData("""
        var numPos = positives.sum();
        numPos.clamp_min_(1);
        var loss = conf.sum() / numPos;
        """)]
    [InlineData("""
        double eps = 1e-6;
        var loss = conf.sum() / (positives.sum() + eps);
        """)]
    [InlineData("""
        var loss = MaskedMean(conf, positives);
        """)]
    [InlineData("""
        var loss = SafeDiv(conf.sum(), positives.sum());
        """)]
    [InlineData("""
        var loss = conf.sum() / positives.sum();
        if (!positives.any().item<bool>()) continue;
        """)]
    [InlineData("""
        if (!positives.any().item<bool>()) continue;
        Tensor Mean(Tensor v, Tensor m) => (v * m).sum() / m.sum();
        var loss = Mean(conf, positives);
        """)]
    public async Task Counts_guarded_in_other_ways_are_not_reported(string body)
    {
        await VerifyLoss.Diagnostics(TestReferences.Usings + $$"""
            class Trainer
            {
                static Tensor MaskedMean(Tensor v, Tensor m, double eps = 1e-8) => (v * m).sum() / (m.sum() + eps);
                static Tensor SafeDiv(Tensor num, Tensor den)
                {
                    if (den.item<long>() == 0) return num * 0;
                    return num / den;
                }

                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
                {
                    foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: true))
                    {
                        var conf = net.forward(b["x"]);
                        var positives = b["y"] > 0;
                        {{body}}
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    // A helper method that divides by (a count of) its parameter: the call being followed from the backward() may guard
    // what it passes, up a chain of helpers; each call path is judged on its own.
    private static string HelperDivides(string loopBody, string extraMember = "") => TestReferences.Usings + $$"""
        class Trainer
        {
            static Tensor MaskedMean(Tensor v, Tensor m) => [|(v * m).sum() / m.sum()|];
            static Tensor PositiveLoss(Tensor conf, Tensor target) => MaskedMean(conf, target > 0);
            {{extraMember}}

            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: true))
                {
                    var conf = net.forward(b["x"]);
                    var positives = b["y"] > 0;
                    {{loopBody}}
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Theory]
    [InlineData("""
        if (!positives.any().item<bool>()) continue;
        var loss = MaskedMean(conf, positives);
        """)]
    [InlineData("""
        var n = positives.sum().item<long>();
        if (n == 0) continue;
        var loss = MaskedMean(conf, positives) + MaskedMean(conf.pow(2), positives);
        """)]
    [InlineData("""
        var target = b["y"];
        if (!(target > 0).any().item<bool>()) continue;
        var loss = PositiveLoss(conf, target);
        """)]
    public async Task A_helper_method_whose_caller_guards_the_count_it_passes_is_not_reported(string body)
    {
        await VerifyLoss.Diagnostics(HelperDivides(body).Replace("[|", "").Replace("|]", ""));
    }

    [Theory]
    [InlineData("""
        var loss = MaskedMean(conf, positives);
        """)]
    [InlineData("""
        var loss = PositiveLoss(conf, b["y"]);
        """)]
    // A guard of another mask of the same batch is no guard of the one passed.
    [InlineData("""
        var ignore = b["y"] < 0;
        if (ignore.all().item<bool>()) continue;
        var loss = MaskedMean(conf, positives);
        """)]
    [InlineData("""
        var negatives = b["y"] < 0;
        if (!positives.any().item<bool>()) continue;
        var loss = MaskedMean(conf, positives) + MaskedMean(conf, negatives);
        """)]
    // The helper's result tested afterwards (a best-loss record, a NaN check) is no guard of what it divides by.
    [InlineData("""
        var loss = MaskedMean(conf, positives);
        if (float.IsNaN(loss.item<float>())) Console.WriteLine("nan");
        """)]
    // Another mask made from the passed one (its negation) being non-empty says nothing of the passed one.
    [InlineData("""
        var negatives = positives.logical_not();
        if (!negatives.any().item<bool>()) continue;
        var loss = MaskedMean(conf, positives);
        """)]
    public async Task A_helper_method_reached_by_an_unguarded_call_is_reported(string body)
    {
        await VerifyLoss.Diagnostics(HelperDivides(body).Replace("[|", "{|BG0005:").Replace("|]", "|}"));
    }

    [Fact]
    public async Task A_local_function_whose_caller_guards_another_mask_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var ignore = target < 0;
            if (ignore.all().item<bool>()) continue;
            static Tensor Mean(Tensor v, Tensor m) => {|BG0005:(v * m).sum() / m.sum()|};
            var loss = Mean(conf, positives);
            loss.backward();
            """));
    }

    [Fact]
    public async Task A_helper_method_with_a_guarded_and_an_unguarded_caller_is_reported()
    {
        await VerifyLoss.Diagnostics(HelperDivides("""
            if (!positives.any().item<bool>()) continue;
            var loss = MaskedMean(conf, positives);
            """, """
            void FineTune(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, Tensor x, Tensor y)
            {
                var loss = MaskedMean(net.forward(x), y > 0);
                loss.backward();
                optimizer.step();
            }
            """).Replace("[|", "{|BG0005:").Replace("|]", "|}"));
    }

    /// <summary>A trainer dividing by a host count <c>n</c> after <paramref name="call"/>, with helpers a guard may be.</summary>
    private static string CountAfter(string call, string division, string className = "Trainer") => TestReferences.Usings + $$"""
        static class Guard { public static void NotZero(long value) { if (value == 0) throw new ArgumentException(); } }

        class {{className}}
        {
            static void CheckpointEvery(long steps) { }
            static void RequirePositive(long value) { if (value <= 0) throw new ArgumentOutOfRangeException(nameof(value)); }
            static void Log(long value, bool verbose) { if (verbose) Console.WriteLine(value); }

            void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset train)
            {
                foreach (var b in torch.utils.data.DataLoader(train, 16, shuffle: true, drop_last: true))
                {
                    var conf = net.forward(b["x"]);
                    long n = (b["y"] > 0).sum().item<long>();
                    {{call}}
                    var loss = {{division}};
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    // Assertions and throw helpers state that the count is never zero (the count checked by a call, not a condition):
    // the author has said so (an assertion compiled out of Release builds included), so the warning would be noise.
    [Theory]
    [InlineData("ArgumentOutOfRangeException.ThrowIfZero(n);")]
    [InlineData("ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);")]
    [InlineData("System.Diagnostics.Debug.Assert(n > 0);")]
    [InlineData("System.Diagnostics.Trace.Assert(n != 0, \"a batch without positives\");")]
    [InlineData("RequirePositive(n);")]
    [InlineData("Guard.NotZero(n);")]
    public async Task A_count_checked_by_an_assertion_or_a_throw_helper_is_not_reported(string guard)
    {
        await VerifyLoss.Diagnostics(CountAfter(guard, "conf.sum() / n"));
    }

    [Theory]
    [InlineData("Console.WriteLine(n);")]
    [InlineData("Console.WriteLine($\"positives: {n}\");")]
    [InlineData("Log(n, verbose: true);")]
    [InlineData("RequirePositive(train.Count);")]
    [InlineData("System.Diagnostics.Debug.WriteLineIf(n == 0, \"no positives\");")]
    [InlineData("CheckpointEvery(n);")]
    public async Task Logging_the_count_or_checking_something_else_is_no_guard(string call)
    {
        // The class's name has a guard-like word in it: only the called method's name (or a guard type's) counts.
        await VerifyLoss.Diagnostics(CountAfter(call, "{|BG0005:conf.sum() / n|}", className: "PositiveMiningTrainer"));
    }

    [Fact]
    public async Task A_test_of_the_loss_itself_is_no_guard_of_the_count()
    {
        await VerifyLoss.Diagnostics(Train("""
            var loss = {|BG0005:conf.sum() / positives.sum()|};
            loss.backward();
            var value = loss.item<float>();
            if (value > 100) Console.WriteLine("spike");
            """));
    }

    [Fact]
    public async Task A_guard_on_something_else_does_not_hide_an_unguarded_count()
    {
        await VerifyLoss.Diagnostics(Train("""
            if (conf.shape[0] == 0) continue;
            var loss = {|BG0005:conf.sum() / positives.sum()|};
            loss.backward();
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
