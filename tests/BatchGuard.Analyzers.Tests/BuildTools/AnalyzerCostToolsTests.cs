using System.Diagnostics;

namespace BatchGuard.Analyzers.Tests.BuildTools;

/// <summary>
/// The analyzer-cost tools (tests/AnalyzerCost, docs/performance.md) stay usable as the analyzers change:
/// callbacks.sh builds a measurement copy of the analyzers with callback-timing.patch, which wraps their registered
/// callbacks and so breaks whenever those lines change.
/// </summary>
public sealed class AnalyzerCostToolsTests
{
    [Fact]
    public async Task The_callback_timing_patch_applies_to_the_analyzers_as_they_are()
    {
        var start = new ProcessStartInfo("git")
        {
            WorkingDirectory = Repository.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "apply", "--check", "tests/AnalyzerCost/callback-timing.patch" }) start.ArgumentList.Add(argument);
        using var git = Process.Start(start) ?? throw new InvalidOperationException("could not start git");
        var output = git.StandardOutput.ReadToEndAsync();
        var errors = git.StandardError.ReadToEndAsync();
        await git.WaitForExitAsync();
        Assert.True(git.ExitCode == 0,
            $"tests/AnalyzerCost/callback-timing.patch no longer applies; refresh it against the changed callbacks:\n{await output}{await errors}");
    }
}
