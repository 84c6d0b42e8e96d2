using System.Globalization;

namespace BatchGuard.Tests.Detection.Benchmark;

/// <summary>
/// Entry point for <c>dotnet run</c> on the test project: the full labelled benchmark, printed as the Markdown tables
/// of docs/detection.md (the tests run a smaller one and assert the targets).
/// </summary>
public static class BenchmarkProgram
{
    private const string Usage =
        "usage: dotnet run -c Release --project tests/BatchGuard.Detection.Tests -- [--curves-per-family N] [--steps S] [--seed X] [--explain]\n" +
        "       ... -- --write-csv FILE [--family PartialBatchSpikes] [--steps S] [--seed X]   (one labelled curve as a CSV log)";

    public static int Main(string[] args)
    {
        int curves = 40, steps = 6000, seed = 2026;
        var explain = false;
        string? csv = null;
        var family = CurveFamily.PartialBatchSpikes;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help") { Console.WriteLine(Usage); return 0; }
            if (args[i] == "--explain") { explain = true; continue; }
            if (args[i] == "--write-csv" && i + 1 < args.Length) { csv = args[++i]; continue; }
            if (args[i] == "--family" && i + 1 < args.Length && Enum.TryParse(args[i + 1], out family)) { i++; continue; }
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
        if (csv is not null) return WriteCsv(csv, CurveGenerator.Generate(family, 0, steps, seed));
        if (explain) DetectionBenchmark.Explain(curves, steps, seed, Console.Out);
        else Console.WriteLine(DetectionBenchmark.ToMarkdown(DetectionBenchmark.Run(curves, steps, seed)));
        return 0;
    }

    /// <summary>Writes one curve as the CSV log <c>batchguard analyze</c> reads (for the CLI's timing in docs/detection.md).</summary>
    private static int WriteCsv(string path, LabelledCurve curve)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine(curve.HasBatchSizes ? "step,epoch,batch_size,loss" : "step,loss");
        foreach (var s in curve.Steps)
            writer.WriteLine(curve.HasBatchSizes
                ? string.Create(CultureInfo.InvariantCulture, $"{s.Step},{s.Epoch},{s.BatchSize},{s.Loss:R}")
                : string.Create(CultureInfo.InvariantCulture, $"{s.Step},{s.Loss:R}"));
        Console.WriteLine($"{path}: {curve.Name}, {curve.Steps.Length} rows, {curve.Events.Length} labelled events");
        return 0;
    }
}
