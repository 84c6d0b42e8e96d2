using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// Reference equality for syntax nodes and operations, hashed by source position. The default comparers hash by
/// object identity, and the runtime's first identity hash of an object is slow enough to show in a profile of a large
/// build: the batch-degree model keys many dictionaries by nodes and operations it sees once or twice.
/// </summary>
internal sealed class IdentityComparer : IEqualityComparer<SyntaxNode>, IEqualityComparer<IOperation>
{
    public static readonly IdentityComparer Instance = new();

    public bool Equals(SyntaxNode? x, SyntaxNode? y) => ReferenceEquals(x, y);

    public int GetHashCode(SyntaxNode node) => unchecked(node.FullSpan.Start * 397 ^ node.RawKind);

    public bool Equals(IOperation? x, IOperation? y) => ReferenceEquals(x, y);

    public int GetHashCode(IOperation operation) => unchecked(GetHashCode(operation.Syntax) * 31 ^ (int)operation.Kind);
}
