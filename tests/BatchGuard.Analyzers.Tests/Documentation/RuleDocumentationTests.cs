using System.Reflection;
using BatchGuard.Analyzers.Tests.BuildTools;
using Microsoft.CodeAnalysis;

namespace BatchGuard.Analyzers.Tests.Documentation;

/// <summary>
/// Every descriptor in the registry has its page (docs/rules/&lt;ID&gt;.md) and a row in README.md's rule table of the
/// form <c>| [BG0001](docs/rules/BG0001.md) | &lt;title&gt; | ...</c>, so the documentation cannot fall behind the code.
/// </summary>
public sealed class RuleDocumentationTests
{
    public static TheoryData<string> RuleIds()
    {
        var data = new TheoryData<string>();
        foreach (var descriptor in AllDescriptors()) data.Add(descriptor.Id);
        return data;
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Every_rule_has_a_page_under_docs_rules_titled_with_its_id(string id)
    {
        var page = Repository.PathOf($"docs/rules/{id}.md");
        Assert.True(File.Exists(page), $"{id} has no rule page: create docs/rules/{id}.md");
        Assert.StartsWith($"# {id}: ", File.ReadLines(page).First());
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Every_rule_has_a_row_in_the_README_rule_table_with_its_title(string id)
    {
        var descriptor = AllDescriptors().Single(d => d.Id == id);
        var rowStart = $"| [{id}](docs/rules/{id}.md) |";
        var row = File.ReadLines(Repository.PathOf("README.md")).FirstOrDefault(line => line.StartsWith(rowStart, StringComparison.Ordinal));
        Assert.True(row is not null, $"README.md's rule table has no row for {id}: add a line starting with '{rowStart}'");
        Assert.Contains(descriptor.Title.ToString(System.Globalization.CultureInfo.InvariantCulture), row);
    }

    [Fact]
    public void Help_links_point_at_the_rule_pages()
    {
        Assert.All(AllDescriptors(), d => Assert.EndsWith($"/docs/rules/{d.Id}.md", d.HelpLinkUri));
    }

    private static IEnumerable<DiagnosticDescriptor> AllDescriptors() =>
        typeof(Descriptors).GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .OrderBy(d => d.Id, StringComparer.Ordinal);
}
