using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BatchGuard.Analyzers;

/// <summary>
/// Rule options read from .editorconfig, keyed by rule ID: <c>dotnet_diagnostic.BG0007.extra_optimizer_types = MyOpt, Lion</c>.
/// Documented on each rule's page.
/// </summary>
internal static class RuleOptions
{
    public static string? GetString(AnalyzerOptions options, SyntaxTree tree, string ruleId, string name)
    {
        var config = options.AnalyzerConfigOptionsProvider.GetOptions(tree);
        return config.TryGetValue($"dotnet_diagnostic.{ruleId}.{name}", out var value) ? value : null;
    }

    /// <summary>A comma- or space-separated list option; empty when absent.</summary>
    public static ImmutableArray<string> GetList(AnalyzerOptions options, SyntaxTree tree, string ruleId, string name)
    {
        var value = GetString(options, tree, ruleId, name);
        if (string.IsNullOrWhiteSpace(value)) return ImmutableArray<string>.Empty;
        return value!.Split(new[] { ',', ' ', ';' }, StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Trim()).Where(s => s.Length > 0).ToImmutableArray();
    }
}
