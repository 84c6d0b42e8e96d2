namespace BatchGuard.Cli;

/// <summary>Entry point of the <c>batchguard</c> tool.</summary>
public static class Program
{
    /// <summary>Runs the tool; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("batchguard: diagnose epoch-boundary loss spikes in a recorded training log.");
            Console.WriteLine();
            Console.WriteLine("usage: batchguard analyze FILE [FILE ...] [--format json|text]");
            return args.Length == 0 ? 2 : 0;
        }
        Console.Error.WriteLine($"batchguard: unknown command '{args[0]}' (try --help)");
        return 2;
    }
}
