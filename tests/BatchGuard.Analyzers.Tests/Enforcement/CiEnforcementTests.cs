using System.Text.Json;
using System.Text.RegularExpressions;
using BatchGuard.Analyzers.Tests.BuildTools;

namespace BatchGuard.Analyzers.Tests.Enforcement;

/// <summary>
/// The "Enforce in CI" recipe, run for real on samples/CiEnforcement (training code with the bugs in it on purpose,
/// each marked by a <c>// BGnnnn</c> comment on its line): a plain build warns, the CI build fails and logs SARIF.
/// </summary>
[Collection(RepositoryBuilds.Name)]
public sealed class CiEnforcementTests
{
    private const string SampleFolder = "samples/CiEnforcement";
    private static readonly string[] Enforced = { "BG0001", "BG0003", "BG0004" };

    [Fact]
    public async Task Plain_build_of_the_sample_succeeds_and_reports_the_bugs_as_warnings()
    {
        var build = await BuildSampleAsync();

        Assert.True(build.ExitCode == 0, build.ToString());
        foreach (var id in Enforced.Append("BG0006")) Assert.Contains($"warning {id}:", build.Output);
    }

    [Fact]
    public async Task Warnaserror_for_the_enforced_rules_fails_the_build_and_the_SARIF_log_lists_them_with_file_and_line()
    {
        using var logs = new TempFolder("batchguard-ci");
        var sarif = Path.Combine(logs.Path, "batchguard.sarif");

        // The README's command; %2C and %3D are MSBuild's escapes for ',' and '=' inside a -p: value.
        var build = await BuildSampleAsync("-warnaserror:" + string.Join(",", Enforced), $"-p:ErrorLog={sarif}%2Cversion%3D2.1");

        Assert.True(build.ExitCode != 0, "the build should fail:\n" + build);
        foreach (var id in Enforced) Assert.Contains($"error {id}:", build.Output);
        Assert.Contains("warning BG0006:", build.Output); // not enforced: stays a warning

        var logged = SarifResults(sarif);
        foreach (var (file, line, id) in MarkedLines().Where(m => Enforced.Contains(m.id)))
        {
            Assert.True(logged.Any(r => r.RuleId == id && r.Uri.EndsWith("/" + file, StringComparison.Ordinal) && r.Line == line),
                $"{id} at {file}:{line} missing from the SARIF log; it has:\n" + string.Join("\n", logged));
        }
    }

    [Fact]
    public async Task Error_severities_in_editorconfig_fail_the_build_like_warnaserror()
    {
        // The .editorconfig variant, applied through a global config file so the sample itself stays warnings-only.
        using var config = new TempFolder("batchguard-editorconfig");
        var globalConfig = Path.Combine(config.Path, "enforce.globalconfig");
        File.WriteAllText(globalConfig, "is_global = true\n" + string.Join("", Enforced.Select(id => $"dotnet_diagnostic.{id}.severity = error\n")));

        var build = await BuildSampleAsync($"-p:BatchGuardSampleGlobalConfig={globalConfig}");

        Assert.True(build.ExitCode != 0, "the build should fail:\n" + build);
        foreach (var id in Enforced) Assert.Contains($"error {id}:", build.Output);
    }

    private static async Task<DotNet.Result> BuildSampleAsync(params string[] extraArguments)
    {
        // Diagnostics come from the compiler: make sure it runs instead of finding the sample up to date.
        foreach (var output in new[] { "obj/Release", "bin/Release" })
        {
            var folder = Repository.PathOf($"{SampleFolder}/{output}");
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        return await DotNet.RunAsync(Repository.Root, new[] { "build", SampleFolder, "-c", "Release" }.Concat(extraArguments).ToArray());
    }

    /// <summary>(file, line, rule) for every line of the sample marked with a <c>// BGnnnn</c> comment.</summary>
    private static IEnumerable<(string file, int line, string id)> MarkedLines()
    {
        foreach (var path in Directory.GetFiles(Repository.PathOf(SampleFolder), "*.cs"))
        {
            var lines = File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
            {
                var marker = Regex.Match(lines[i], @"// (BG\d{4})\s*$");
                if (marker.Success) yield return (Path.GetFileName(path), i + 1, marker.Groups[1].Value);
            }
        }
    }

    private sealed record SarifResult(string RuleId, string Level, string Uri, int Line);

    private static List<SarifResult> SarifResults(string path)
    {
        Assert.True(File.Exists(path), $"no SARIF log at {path}");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var results = new List<SarifResult>();
        foreach (var run in document.RootElement.GetProperty("runs").EnumerateArray())
        {
            foreach (var result in run.GetProperty("results").EnumerateArray())
            {
                var location = result.GetProperty("locations")[0].GetProperty("physicalLocation");
                results.Add(new SarifResult(
                    result.GetProperty("ruleId").GetString()!,
                    result.TryGetProperty("level", out var level) ? level.GetString()! : "warning",
                    location.GetProperty("artifactLocation").GetProperty("uri").GetString()!,
                    location.GetProperty("region").GetProperty("startLine").GetInt32()));
            }
        }
        return results;
    }
}
