using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// The lookups one operation block can answer without the rest of the compilation: local writes, and the bodies of
/// the methods it calls (bound on demand from the compiler's shared semantic model, as the IDE does for the open
/// document). Questions only the whole compilation can answer — every write to a field, every call site of a method —
/// get an empty answer and set <see cref="ReachedOutside"/>: an evaluation that asked one is not trusted here and is
/// left to the compilation-end pass.
/// </summary>
internal sealed class BlockScope : ISourceLookup
{
    private readonly CompilationIndex _index;
    private readonly Compilation _compilation;
    private readonly Dictionary<IMethodSymbol, IOperation?> _bodies = new(SymbolEqualityComparer.Default);

    public BlockScope(CompilationIndex index)
    {
        _index = index;
        Symbols = index.Symbols;
        _compilation = index.Symbols.Compilation;
    }

    public TorchSharpSymbols Symbols { get; }

    /// <summary>Set when a lookup needed facts from outside the block (field writes, call sites, constructors).</summary>
    public bool ReachedOutside { get; set; }

    public Dictionary<IOperation, ImmutableArray<LoaderCreation>> ResolvedLoaders { get; } = new(IdentityComparer.Instance);

    public IOperation? BodyOf(IMethodSymbol method)
    {
        var definition = method.OriginalDefinition;
        if (_bodies.TryGetValue(definition, out var cached)) return cached;
        // A body some analyzer was already handed needs no binding.
        if (_index.OfferedBody(definition) is { } offered) return _bodies[definition] = offered;
        return _bodies[definition] = BindBody(definition);
    }

    private IOperation? BindBody(IMethodSymbol method)
    {
        if (!SymbolEqualityComparer.Default.Equals(method.ContainingAssembly, _compilation.Assembly)) return null;
        if (method.PartialImplementationPart is { } implementation) method = implementation;
        foreach (var reference in method.DeclaringSyntaxReferences)
        {
            var syntax = reference.GetSyntax();
            if (syntax is not (BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or ArrowExpressionClauseSyntax)) continue;
            if (!_compilation.ContainsSyntaxTree(syntax.SyntaxTree)) continue;
            // The compiler's analyzer driver gives analyzers a caching semantic model provider: this model and its
            // bound bodies are the ones the driver hands to the operation actions, not a second binding.
#pragma warning disable RS1030 // Another method's body is needed; no context offers its semantic model.
            var model = _compilation.GetSemanticModel(syntax.SyntaxTree);
#pragma warning restore RS1030
            if (model.GetOperation(syntax) is { } body && body is IMethodBodyBaseOperation or IBlockOperation) return body;
        }
        return null;
    }

    public IReadOnlyList<IOperation> BlocksOf(IMethodSymbol method) => Outside();

    public IReadOnlyList<IOperation> WritesTo(ISymbol member) => Outside();

    public IReadOnlyList<IOperation> CallsTo(IMethodSymbol method) => Outside();

    private IReadOnlyList<IOperation> Outside()
    {
        ReachedOutside = true;
        return Array.Empty<IOperation>();
    }

    public LocalWrite? ReachingWrite(ILocalReferenceOperation read)
    {
        return _index.ReachingWrite(read);
    }
}
