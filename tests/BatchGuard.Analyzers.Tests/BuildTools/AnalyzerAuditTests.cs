namespace BatchGuard.Analyzers.Tests.BuildTools;

/// <summary>
/// tests/RealWorld/AnalyzerAudit (docs/real-world.md) stays usable: it builds against the analyzers as they are and
/// reports, on code with known findings (samples/CiEnforcement), every one of them, with no analyzer exception.
/// </summary>
[Collection(RepositoryBuilds.Name)]
public sealed class AnalyzerAuditTests
{
    [Fact]
    public async Task The_audit_tool_reports_the_ci_samples_findings_and_no_exception()
    {
        var run = await DotNet.RunAsync(Repository.Root,
            "run", "-c", "Release", "--project", "tests/RealWorld/AnalyzerAudit", "--", Repository.PathOf("samples/CiEnforcement"));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(", 0 compile errors", run.Output);
        Assert.Contains(", 0 analyzer exceptions", run.Output);
        foreach (var rule in new[] { "BG0001", "BG0003", "BG0004", "BG0006", "BG0007" })
            Assert.True(run.Output.Contains($": warning {rule}:") || run.Output.Contains($": info {rule}:"), $"{rule} missing:\n{run}");
    }
}
