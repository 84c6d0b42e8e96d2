using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// Where the batch-degree model looks up code beyond the expression it is evaluating: other methods' bodies, the
/// values written to a field, a method's call sites, the write that reaches a local. Two scopes answer it: the whole
/// compilation (<see cref="CompilationIndex"/>, at compilation end) and one operation block (<see cref="BlockScope"/>,
/// as the user types), which says when a question needed the rest of the compilation.
/// </summary>
internal interface ISourceLookup
{
    TorchSharpSymbols Symbols { get; }

    /// <summary>The body of a method declared in this compilation, or null.</summary>
    IOperation? BodyOf(IMethodSymbol method);

    /// <summary>Every operation block of a method declared in this compilation (body, constructor initializer).</summary>
    IReadOnlyList<IOperation> BlocksOf(IMethodSymbol method);

    /// <summary>Every value assigned to a field or property anywhere in the compilation (initializers included).</summary>
    IReadOnlyList<IOperation> WritesTo(ISymbol member);

    /// <summary>Invocations and object creations of a method or constructor declared in this compilation.</summary>
    IReadOnlyList<IOperation> CallsTo(IMethodSymbol method);

    /// <summary>The write that reaches a read of a local (<see cref="LocalWrites.Reaching"/>), or null.</summary>
    LocalWrite? ReachingWrite(ILocalReferenceOperation read);

    /// <summary><see cref="LoaderCreation.Resolve"/>'s results by expression, within this scope.</summary>
    Dictionary<IOperation, ImmutableArray<LoaderCreation>> ResolvedLoaders { get; }
}
