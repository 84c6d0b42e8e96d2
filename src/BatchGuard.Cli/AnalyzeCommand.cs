using System.Globalization;
using BatchGuard.Detection;
using BatchGuard.Reporting;

namespace BatchGuard.Cli;

/// <summary><c>batchguard analyze</c>: replays loss logs through the detector the guard uses, one report per file.</summary>
internal static class AnalyzeCommand
{
    private enum Format { Text, Json }

    public static int Run(ReadOnlySpan<string> args, TextWriter output, TextWriter error)
    {
        var files = new List<string>();
        var format = Format.Text;
        var options = new DetectorOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                output.WriteLine(Program.Usage);
                return Program.Success;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg == "--")
            {
                if (arg != "--") files.Add(arg);
                else { files.AddRange(args[(i + 1)..].ToArray()); break; }
                continue;
            }

            // --name value or --name=value
            var equals = arg.IndexOf('=');
            var name = equals < 0 ? arg : arg[..equals];
            string? inlineValue = equals < 0 ? null : arg[(equals + 1)..];
            if (name == "--drop-last")
            {
                if (inlineValue is not null) return UsageError(error, "--drop-last takes no value");
                options = options with { DropLast = true };
                continue;
            }
            if (name is not ("--format" or "--batch-size" or "--steps-per-epoch"))
                return UsageError(error, $"unknown option '{name}'");
            var value = inlineValue ?? (i + 1 < args.Length ? args[++i] : null);
            if (value is null) return UsageError(error, $"{name} needs a value");
            switch (name)
            {
                case "--format":
                    if (value == "json") format = Format.Json;
                    else if (value == "text") format = Format.Text;
                    else return UsageError(error, $"--format must be json or text, not '{value}'");
                    break;
                case "--batch-size":
                    if (!TryPositive(value, out var batch)) return UsageError(error, $"--batch-size must be a positive integer, not '{value}'");
                    options = options with { NominalBatchSize = batch };
                    break;
                default:
                    if (!TryPositive(value, out var perEpoch)) return UsageError(error, $"--steps-per-epoch must be a positive integer, not '{value}'");
                    options = options with { StepsPerEpoch = perEpoch };
                    break;
            }
        }
        if (files.Count == 0) return UsageError(error, "no FILE given");

        var exitCode = Program.Success;
        var reported = 0;
        foreach (var file in files)
        {
            DetectionReport report;
            try
            {
                report = Analyze(file, options);
            }
            catch (LossLogException e)
            {
                error.WriteLine($"batchguard: {e.Message}");
                exitCode = Program.BadInput;
                continue;
            }
            if (format == Format.Json) output.WriteLine(DetectionReportJson.Write(report));
            else
            {
                if (reported++ > 0) output.WriteLine();
                DetectionReportText.Write(output, report);
            }
        }
        return exitCode;
    }

    /// <summary>Streams one log through a fresh detector.</summary>
    internal static DetectionReport Analyze(string file, DetectorOptions options)
    {
        var detector = new LossAnomalyDetector(options);
        using (var reader = LossLogReader.Open(file))
            while (reader.TryRead(out var record))
                detector.Observe(record);
        return DetectionReport.From(detector, file);
    }

    private static bool TryPositive(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0;

    private static int UsageError(TextWriter error, string message)
    {
        error.WriteLine($"batchguard analyze: {message}");
        error.WriteLine(Program.Usage);
        return Program.BadInput;
    }
}
