namespace BatchGuard.Cli;

/// <summary>Entry point of the <c>batchguard</c> tool.</summary>
public static class Program
{
    /// <summary>Exit code for success (anomalies found or not).</summary>
    public const int Success = 0;

    /// <summary>Exit code for a usage error or a file that could not be analysed.</summary>
    public const int BadInput = 2;

    internal const string Usage = """
        usage: batchguard analyze FILE [FILE ...] [--format json|text] [--batch-size B] [--steps-per-epoch N] [--drop-last]

        Replays each loss log (CSV with a header; columns step, loss required; epoch, batch_size, grad_norm optional)
        through BatchGuard's online detector and explains its spikes, dips and non-finite losses.
          --format json|text   json: one object per file, one per line; text (default): for a person
          --batch-size B       the nominal batch size (default: the largest batch_size in the log)
          --steps-per-epoch N  the epoch length (default: from the epoch column, the short batches, or a period search)
          --drop-last          the DataLoader drops its short last batch (the advice changes)
        Exit code 0 when every file was analysed, 2 on a usage error or when a file could not be read.
        """;

    /// <summary>Runs the tool; returns the process exit code.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the tool with the given output streams (what the tests call).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0)
        {
            error.WriteLine(Usage);
            return BadInput;
        }
        switch (args[0])
        {
            case "-h" or "--help" or "help":
                output.WriteLine("batchguard: diagnose epoch-boundary loss spikes in a recorded training log.");
                output.WriteLine();
                output.WriteLine(Usage);
                return Success;
            case "analyze":
                return AnalyzeCommand.Run(args.AsSpan(1), output, error);
            default:
                error.WriteLine($"batchguard: unknown command '{args[0]}' (try --help)");
                return BadInput;
        }
    }
}
