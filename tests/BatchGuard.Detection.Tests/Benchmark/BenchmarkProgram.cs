using System.Globalization;

namespace BatchGuard.Tests.Detection.Benchmark;

/// <summary>
/// Entry point for <c>dotnet run</c> on the test project: the full labelled benchmark, printed as the Markdown tables
/// of docs/detection.md (the tests run a smaller one and assert the targets).
/// </summary>
public static class BenchmarkProgram
{
    private const string Usage =
        "usage: dotnet run -c Release --project tests/BatchGuard.Detection.Tests -- [--curves-per-family N] [--steps S] [--seed X] [--explain]";

    public static int Main(string[] args)
    {
        int curves = 40, steps = 6000, seed = 2026;
        var explain = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help") { Console.WriteLine(Usage); return 0; }
            if (args[i] == "--explain") { explain = true; continue; }
            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
            {
                Console.Error.WriteLine($"{args[i]} needs a positive integer\n{Usage}");
                return 2;
            }
            switch (args[i++])
            {
                case "--curves-per-family": curves = value; break;
                case "--steps": steps = value; break;
                case "--seed": seed = value; break;
                default: Console.Error.WriteLine($"unknown option {args[i - 1]}\n{Usage}"); return 2;
            }
        }
        if (explain) DetectionBenchmark.Explain(curves, steps, seed, Console.Out);
        else Console.WriteLine(DetectionBenchmark.ToMarkdown(DetectionBenchmark.Run(curves, steps, seed)));
        return 0;
    }
}
