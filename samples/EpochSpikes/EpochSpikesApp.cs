using BatchGuard;

namespace EpochSpikes;

/// <summary>The sample's entry point, callable from tests.</summary>
public static class EpochSpikesApp
{
    /// <summary>Runs the sample; returns the exit code. Options: <c>--out DIR</c> (default ./epoch-spikes-out), <c>--quick</c>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var options = SampleOptions.Parse(args, output, error, out int exitCode);
        if (options is null) return exitCode;

        TorchNativeBackend.EnsureLoaded();
        Directory.CreateDirectory(options.OutputDirectory);
        var settings = new Settings(Epochs: options.Quick ? 12 : 40, Seed: 20261124);
        using var data = MatchingTask.Generate(settings.Seed);

        output.WriteLine($"Training {MatchingTask.DatasetSize} samples in batches of {MatchingTask.BatchSize} " +
                         $"({MatchingTask.DatasetSize / MatchingTask.BatchSize} full batches + 1 of {MatchingTask.DatasetSize % MatchingTask.BatchSize}), " +
                         $"SGD momentum 0.9, {settings.Epochs} epochs, on CPU.");
        var runs = new List<RunResult>
        {
            Training.Diagnosed(Training.Buggy(data, settings)),
            Training.Guarded(data, settings),
            Training.DropLast(data, settings),
            Training.Fixed(data, settings),
        };

        Report.Print(runs, output);
        Report.Write(runs, options.OutputDirectory);
        output.WriteLine();
        output.WriteLine($"Wrote results.json, loss-curves.svg and one loss log per configuration (batchguard analyze reads them) to {Path.GetFullPath(options.OutputDirectory)}");
        return 0;
    }
}

internal sealed record SampleOptions(string OutputDirectory, bool Quick)
{
    public static SampleOptions? Parse(string[] args, TextWriter output, TextWriter error, out int exitCode)
    {
        string directory = "epoch-spikes-out";
        bool quick = false;
        exitCode = 0;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--out" when i + 1 < args.Length:
                    directory = args[++i];
                    break;
                case "-h" or "--help":
                    output.WriteLine("usage: EpochSpikes [--out DIR] [--quick]");
                    return null;
                default:
                    error.WriteLine($"EpochSpikes: unknown or incomplete argument '{args[i]}' (usage: EpochSpikes [--out DIR] [--quick])");
                    exitCode = 2;
                    return null;
            }
        }
        return new SampleOptions(directory, quick);
    }
}
