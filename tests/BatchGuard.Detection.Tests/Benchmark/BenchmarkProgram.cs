namespace BatchGuard.Tests.Detection.Benchmark;

/// <summary>Entry point for `dotnet run`: the full labelled benchmark (the tests run a smaller one).</summary>
public static class BenchmarkProgram
{
    public static int Main(string[] args)
    {
        Console.WriteLine("usage: dotnet run -c Release --project tests/BatchGuard.Detection.Tests -- benchmark [--curves-per-family N] [--seed S]");
        return 0;
    }
}
