using BenchmarkDotNet.Running;

namespace BatchGuard.Benchmarks;

public static class Program
{
    /// <summary>BenchmarkDotNet by default; <c>--paired</c> for the interleaved whole-step overhead measurement.</summary>
    public static void Main(string[] args)
    {
        if (args is ["--paired"]) PairedOverhead.Run();
        else BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
