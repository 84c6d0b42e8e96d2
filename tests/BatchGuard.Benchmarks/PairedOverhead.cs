using System.Diagnostics;
using System.Globalization;

namespace BatchGuard.Benchmarks;

/// <summary>
/// The guard's overhead on a whole step, measured so that a shared, noisy machine cannot fake it: plain and guarded
/// steps alternate in short blocks (ABBA order), each block pair gives one ratio, and the median ratio is reported.
/// Slow load drift hits both halves of a pair alike, which sequential benchmarks cannot promise.
/// Run: <c>dotnet run -c Release --project tests/BatchGuard.Benchmarks -- --paired</c>.
/// </summary>
internal static class PairedOverhead
{
    private const int StepsPerBlock = 10, Pairs = 300, WarmupSteps = 50;

    public static void Run()
    {
        Console.WriteLine("| Model | guarded / plain, median of " + Pairs + " block pairs | interquartile range | plain step (median) |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (string model in new[] { "small", "1M" })
        {
            var bench = new GuardOverheadBenchmarks { Model = model };
            bench.Setup();
            for (int i = 0; i < WarmupSteps; i++)
            {
                bench.PlainStep();
                bench.GuardedStep();
            }
            var ratios = new double[Pairs];
            var plainTimes = new double[Pairs];
            for (int pair = 0; pair < Pairs; pair++)
            {
                bool plainFirst = pair % 2 == 0;
                double first = Time(plainFirst ? bench.PlainStep : () => bench.GuardedStep());
                double second = Time(plainFirst ? () => bench.GuardedStep() : bench.PlainStep);
                (double plain, double guarded) = plainFirst ? (first, second) : (second, first);
                ratios[pair] = guarded / plain;
                plainTimes[pair] = plain / StepsPerBlock;
            }
            bench.Cleanup();
            Array.Sort(ratios);
            Array.Sort(plainTimes);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {model} | {ratios[Pairs / 2]:0.000} | {ratios[Pairs / 4]:0.000} – {ratios[3 * Pairs / 4]:0.000} | {plainTimes[Pairs / 2] * 1e6:0} µs |"));
        }
    }

    private static double Time(Action step)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < StepsPerBlock; i++) step();
        return clock.Elapsed.TotalSeconds;
    }
}
