using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// A batch-size-dependent normalisation found on the way to <c>backward()</c> (BG0003, BG0004 or BG0005), with what
/// its code fix needs and the loops (enumerated DataLoaders) whose batches reached it.
/// </summary>
internal sealed class LossFinding
{
    public LossFinding(string ruleId, IOperation site, IOperation divisor, object[] messageArgs,
        ImmutableDictionary<string, string?> properties)
    {
        RuleId = ruleId;
        Site = site;
        Divisor = divisor;
        MessageArgs = messageArgs;
        Properties = properties;
    }

    public string RuleId { get; }
    /// <summary>The division (binary operator, <c>div</c> call or <c>/=</c>): where the diagnostic is reported.</summary>
    public IOperation Site { get; }
    public IOperation Divisor { get; }
    public object[] MessageArgs { get; }
    /// <summary>Passed to the code fix through the diagnostic.</summary>
    public ImmutableDictionary<string, string?> Properties { get; }
    /// <summary>The enumerated collections (foreach over a DataLoader) whose batches reached this finding.</summary>
    public HashSet<IOperation> FeedingCollections { get; } = new(IdentityComparer.Instance);

    public Location Location => Site.Syntax.GetLocation();

    /// <summary>Property keys shared with the code fixes.</summary>
    public static class Keys
    {
        /// <summary>BG0003: the expression of the actual batch size (e.g. <c>pred.shape[0]</c>), when one is in scope.</summary>
        public const string ActualBatchSize = "ActualBatchSize";
        /// <summary>BG0004: which operand of the binary operation is the loss to keep, "left" or "right".</summary>
        public const string KeepOperand = "KeepOperand";
        /// <summary>BG0005: "tensor" (wrap with clamp_min(1)) or "host" (wrap with Math.Max(count, 1)).</summary>
        public const string CountKind = "CountKind";
    }
}

/// <summary>
/// A finding's identity: its rule and the node it is reported at. A class key (compared by the node's reference): a
/// value-tuple key makes the runtime JIT-compile the dictionary's code anew in every cold compiler process.
/// </summary>
internal sealed class FindingKey : System.IEquatable<FindingKey>
{
    public FindingKey(string ruleId, SyntaxNode site)
    {
        RuleId = ruleId;
        Site = site;
    }

    public string RuleId { get; }
    public SyntaxNode Site { get; }

    public static FindingKey Of(LossFinding finding) => new(finding.RuleId, finding.Site.Syntax);

    public bool Equals(FindingKey? other) => other is not null && ReferenceEquals(Site, other.Site) && RuleId == other.RuleId;

    public override bool Equals(object? obj) => Equals(obj as FindingKey);

    public override int GetHashCode() => unchecked(IdentityComparer.Instance.GetHashCode(Site) * 31 ^ RuleId.GetHashCode());
}
