using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// The operation blocks of a compilation, gathered while the compiler analyses each member and queried at compilation
/// end: method bodies (to follow helpers, custom losses' forward, factories), writes to fields and properties, call
/// sites (to follow a loader passed as an argument), and local writes per body. Only members whose text can matter
/// are walked when offered (<see cref="SourceMarks"/>); field writes and call sites are looked up by name when a query
/// needs them, so ordinary code costs a text test, not an operation walk.
/// </summary>
/// <remarks>
/// One index per compilation (<see cref="ForCompilation"/>), filled by <see cref="BatchDegreeAnalyzer"/>'s block action
/// and analysed once at compilation end (<see cref="Analysis"/>). It is kept per compilation, not per analysis run, so
/// a second run over the same compilation (the IDE re-analysing a document) reuses the blocks already walked.
/// </remarks>
internal sealed class CompilationIndex : ISourceLookup
{
    private static readonly ConditionalWeakTable<Compilation, CompilationIndex> Shared = new();

    private readonly TorchSharpSymbols _symbols;
    private readonly SourceMarks _marks;
    // Keyed by the block's syntax (each block has its own node). Reference-type keys: the runtime's precompiled
    // shared code serves them, where a tuple key would need its own JIT-compiled dictionary in every build.
    private readonly ConcurrentDictionary<SyntaxNode, Lazy<IndexedBlock>> _offered = new(IdentityComparer.Instance);
    private readonly object _analysisGate = new();
    private TrainingLossAnalysis? _analysis;
    private AnalyzerOptions? _analysisOptions;

    // Built at the first analysis (Freeze), used under its lock.
    private Dictionary<IMethodSymbol, List<IOperation>>? _blocksOf;
    private Dictionary<SyntaxTree, List<OfferedBlock>>? _blocksByTree;
    private Dictionary<IMethodSymbol, IOperation>? _bodies;
    /// <summary>Blocks whose text cannot matter: kept unwalked, only for name lookups at compilation end.</summary>
    private readonly ConcurrentQueue<OfferedBlock> _unwalked = new();
    private readonly Dictionary<ISymbol, List<IOperation>> _writesTo = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<IMethodSymbol, List<IOperation>> _callsTo = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<IOperation, Dictionary<ILocalSymbol, List<LocalWrite>>> _localWrites = new(IdentityComparer.Instance);
    private readonly ConcurrentDictionary<IOperation, ConcurrentDictionary<ILocalSymbol, List<LocalWrite>>> _writesOfLocal = new(IdentityComparer.Instance);

    /// <summary><see cref="LoaderCreation.Resolve"/>'s results by expression (used only inside <see cref="Analysis"/>, under its lock).</summary>
    public Dictionary<IOperation, ImmutableArray<LoaderCreation>> ResolvedLoaders { get; } = new(IdentityComparer.Instance);

    private CompilationIndex(TorchSharpSymbols symbols)
    {
        _symbols = symbols;
        _marks = SourceMarks.For(symbols.Compilation);
    }

    public TorchSharpSymbols Symbols => _symbols;

    /// <summary>
    /// The compilation's index; registers the collection action, which also hands each walked block that calls
    /// <c>backward()</c> to <paramref name="onBlock"/> (the as-you-type reporting).
    /// </summary>
    public static CompilationIndex ForCompilation(CompilationStartAnalysisContext context, TorchSharpSymbols symbols,
        Action<OperationBlockAnalysisContext, IndexedBlock>? onBlock = null)
    {
        var index = Shared.GetValue(context.Compilation, _ => new CompilationIndex(symbols));
        context.RegisterOperationBlockAction(block => AnalyzerSafety.Run(() =>
        {
            foreach (var operation in block.OperationBlocks)
            {
                if (index.Add(block.OwningSymbol, operation) is { Backwards.Count: > 0 } indexed && onBlock is not null) onBlock(block, indexed);
            }
        }));
        return index;
    }

    /// <summary>
    /// The batch-degree analysis of the whole compilation, computed once per compilation and options. Call it
    /// at compilation end only: by then every block has been offered. The result is read-only.
    /// </summary>
    public TrainingLossAnalysis Analysis(AnalyzerOptions options)
    {
        lock (_analysisGate)
        {
            if (_analysis is null || !ReferenceEquals(_analysisOptions, options))
            {
                if (Blocks.IsDefault) Freeze();
                _analysis = TrainingLossAnalysis.Run(this, options);
                _analysisOptions = options;
            }
            return _analysis;
        }
    }

    /// <summary>
    /// Records a member's operation block, once however often it is offered (same member and syntax: the same
    /// block, however its operations were obtained). Only a block whose text can matter is walked: one that mentions
    /// <c>backward</c>, <c>DataLoader</c> or a target-typed <c>new(...)</c> (or a DataLoader subclass's constructor) in
    /// full, one with a <c>foreach</c> for its loops over loaders; the rest of the code is looked at only when a query names it
    /// (<see cref="WritesTo"/>, <see cref="CallsTo"/>).
    /// </summary>
    public IndexedBlock? Add(ISymbol owner, IOperation block)
    {
        var marks = _marks;
        var span = block.Syntax.Span;
        var tree = block.Syntax.SyntaxTree;
        var walkFully = marks.DataLoaderAliased(tree) || block.SemanticModel is null ||
                        owner is IMethodSymbol { MethodKind: MethodKind.Constructor } constructor && _symbols.IsDataLoader(constructor.ContainingType);
        if (!walkFully && !marks.MentionsBatchDegreeWord(tree, span))
        {
            // Most of a compilation: no shared dictionary, no walk (a second analysis run may add it again; deduplicated at the end).
            _unwalked.Enqueue(new OfferedBlock(owner, block));
            return null;
        }
        // A block offered again (a second analysis run) is found without allocating the factory.
        if (_offered.TryGetValue(block.Syntax, out var offered)) return offered.Value;
        return _offered.GetOrAdd(block.Syntax, _ => new Lazy<IndexedBlock>(() => Walk(owner, block, walkFully))).Value;
    }

    private IndexedBlock Walk(ISymbol owner, IOperation block, bool walkFully)
    {
        var indexed = new IndexedBlock(this, owner, block);
        var marks = _marks;
        var span = block.Syntax.Span;
        var tree = block.Syntax.SyntaxTree;
        if (walkFully)
        {
            WalkFully(indexed);
        }
        else if (marks.Mentions(tree, SourceMarks.Backward, span) || marks.Mentions(tree, SourceMarks.DataLoader, span) ||
                 marks.MentionsTargetTypedNew(tree, span))
        {
            Locate(indexed, marks);
        }
        else if (marks.Mentions(tree, SourceMarks.ForEach, span))
        {
            CollectLoaderLoops(block, indexed.ForEachLoops);
        }
        return indexed;
    }

    /// <summary>Every backward() call, loader creation and foreach loop of the block, by walking all of its operations.</summary>
    private void WalkFully(IndexedBlock indexed)
    {
        var block = indexed.Block;
        indexed.Walked = true;
        foreach (var operation in block.PreOrder())
        {
            // Switch on Kind first: most operations are none of these, and an enum test is cheaper than type tests.
            switch (operation.Kind)
            {
                case OperationKind.Invocation:
                    var invocation = (IInvocationOperation)operation;
                    if (LoaderCreation.IsCreation(invocation, _symbols)) indexed.LoaderCreations.Add(invocation);
                    if (_symbols.IsBackward(invocation)) indexed.Backwards.Add(invocation);
                    break;
                case OperationKind.ObjectCreation:
                    if (LoaderCreation.IsCreation(operation, _symbols)) indexed.LoaderCreations.Add(operation);
                    break;
                case OperationKind.Loop when operation is IForEachLoopOperation forEach:
                    indexed.ForEachLoops.Add(forEach);
                    break;
            }
        }
    }

    /// <summary>
    /// What <see cref="WalkFully"/> finds, found from the words instead: each <c>backward</c>, <c>DataLoader</c>,
    /// target-typed <c>new</c> and <c>foreach</c> in the block's text is mapped to its operation through the semantic
    /// model the block came from (the same, already built operation tree), so the rest of the method is never visited.
    /// </summary>
    private void Locate(IndexedBlock indexed, SourceMarks marks)
    {
        var block = indexed.Block;
        var model = block.SemanticModel!;
        var root = block.Syntax;
        var tree = root.SyntaxTree;
        indexed.Walked = true;
        foreach (var token in marks.Tokens(tree, SourceMarks.Backward, root))
        {
            if (token.ValueText == SourceMarks.Backward && token.Parent?.FirstAncestorOrSelf<InvocationExpressionSyntax>() is { } call &&
                model.GetOperation(call) is IInvocationOperation invocation && _symbols.IsBackward(invocation) && !indexed.Backwards.Contains(invocation))
                indexed.Backwards.Add(invocation);
        }
        foreach (var candidate in marks.LoaderCreationCandidates(root)) AddCreation(indexed, model.GetOperation(candidate));
        foreach (var token in marks.Tokens(tree, SourceMarks.ForEach, root))
        {
            if (token.IsKind(SyntaxKind.ForEachKeyword) && token.Parent is CommonForEachStatementSyntax statement &&
                model.GetOperation(statement) is IForEachLoopOperation loop && !indexed.ForEachLoops.Contains(loop))
                indexed.ForEachLoops.Add(loop);
        }
    }

    private void AddCreation(IndexedBlock indexed, IOperation? operation)
    {
        if (operation is not null && LoaderCreation.IsCreation(operation, _symbols) && !indexed.LoaderCreations.Contains(operation))
            indexed.LoaderCreations.Add(operation);
    }

    /// <summary>The foreach loops of a block, found through its statements only (loops do not hide in expressions, bar lambdas).</summary>
    private static void CollectLoaderLoops(IOperation operation, List<IForEachLoopOperation> into)
    {
        if (operation is IForEachLoopOperation forEach) into.Add(forEach);
        foreach (var child in operation.ChildOperations)
        {
            if (child.Kind is OperationKind.Block or OperationKind.Loop or OperationKind.Conditional or OperationKind.Switch or
                OperationKind.SwitchCase or OperationKind.Try or OperationKind.CatchClause or OperationKind.Using or OperationKind.Lock or
                OperationKind.Labeled or OperationKind.MethodBody or OperationKind.ConstructorBody or OperationKind.LocalFunction)
                CollectLoaderLoops(child, into);
        }
    }

    /// <summary>The body of a method already offered (so the IDE pass need not bind it again), or null.</summary>
    public IOperation? OfferedBody(IMethodSymbol method)
    {
        method = method.OriginalDefinition;
        foreach (var reference in method.DeclaringSyntaxReferences)
        {
            var declaration = reference.GetSyntax();
            foreach (var syntax in BodySyntaxes(declaration))
            {
                if (syntax is not null && _offered.TryGetValue(syntax, out var offered) &&
                    offered.Value.Block is IMethodBodyBaseOperation or IBlockOperation) return offered.Value.Block;
            }
        }
        return null;
    }

    /// <summary>The syntax an offered body block can have: the declaration, or its block or expression body.</summary>
    private static IEnumerable<SyntaxNode?> BodySyntaxes(SyntaxNode declaration)
    {
        yield return declaration;
        switch (declaration)
        {
            case BaseMethodDeclarationSyntax method:
                yield return method.Body;
                yield return method.ExpressionBody;
                break;
            case AccessorDeclarationSyntax accessor:
                yield return accessor.Body;
                yield return accessor.ExpressionBody;
                break;
        }
    }

    /// <summary>The walked blocks: those that can hold a backward(), a loader creation or a loop over a loader.</summary>
    public ImmutableArray<IndexedBlock> Blocks { get; private set; }

    private void Freeze()
    {
        Blocks = _offered.Values.Select(l => l.Value).Where(b => b.Walked || b.ForEachLoops.Count > 0)
            .OrderBy(b => b.Block.Syntax.SyntaxTree.FilePath, StringComparer.Ordinal).ThenBy(b => b.Block.Syntax.SpanStart).ToImmutableArray();
    }

    /// <summary>
    /// The maps of every offered block (walked or not) by member and by file, built the first time a query needs the
    /// rest of the compilation: a compilation whose losses each method proves by itself never builds them.
    /// </summary>
    private void EnsureMaps()
    {
        if (_blocksOf is not null) return;
        var walked = _offered.Values.Select(l => l.Value).ToList();
        _blocksOf = new Dictionary<IMethodSymbol, List<IOperation>>(SymbolEqualityComparer.Default);
        _blocksByTree = new Dictionary<SyntaxTree, List<OfferedBlock>>();
        _bodies = new Dictionary<IMethodSymbol, IOperation>(SymbolEqualityComparer.Default);
        var seen = new HashSet<SyntaxNode>(IdentityComparer.Instance);
        foreach (var offered in walked.Select(b => new OfferedBlock(b.Owner, b.Block)).Concat(_unwalked))
        {
            var owner = offered.Owner;
            var block = offered.Block;
            if (!seen.Add(block.Syntax)) continue;
            if (owner is IMethodSymbol method)
            {
                // A constructor's base(...) call can come as a block of its own, beside the body.
                Add(_blocksOf, method.OriginalDefinition, block);
                if (block is IMethodBodyBaseOperation or IBlockOperation) _bodies[method.OriginalDefinition] = block;
            }
            Add(_blocksByTree, block.Syntax.SyntaxTree, offered);
        }
    }

    private static void Add<TKey, TValue>(Dictionary<TKey, List<TValue>> map, TKey key, TValue value) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list)) map[key] = list = new List<TValue>();
        list.Add(value);
    }

    /// <summary>The body of a method declared in this compilation, or null.</summary>
    public IOperation? BodyOf(IMethodSymbol method)
    {
        EnsureMaps();
        return _bodies!.TryGetValue(method.OriginalDefinition, out var body) ? body : null;
    }

    /// <summary>Every operation block of a method declared in this compilation (body, constructor initializer).</summary>
    public IReadOnlyList<IOperation> BlocksOf(IMethodSymbol method)
    {
        EnsureMaps();
        return _blocksOf!.TryGetValue(method.OriginalDefinition, out var blocks) ? blocks : Array.Empty<IOperation>();
    }

    /// <summary>Every value assigned to a field or property anywhere in the compilation (initializers included).</summary>
    public IReadOnlyList<IOperation> WritesTo(ISymbol member)
    {
        member = member.OriginalDefinition;
        if (_writesTo.TryGetValue(member, out var writes)) return writes;
        _writesTo[member] = writes = new List<IOperation>();
        foreach (var block in BlocksMentioning(member.Name, member))
        {
            switch (block)
            {
                case IFieldInitializerOperation initializer when member is IFieldSymbol field &&
                                                               initializer.InitializedFields.Contains(field, SymbolEqualityComparer.Default):
                    writes.Add(initializer.Value);
                    continue;
                case IPropertyInitializerOperation initializer when member is IPropertySymbol property && initializer.InitializedProperties.Contains(property, SymbolEqualityComparer.Default):
                    writes.Add(initializer.Value);
                    continue;
            }
            foreach (var operation in block.PreOrder())
            {
                if (!ReferenceEquals(operation, block) && operation is ISimpleAssignmentOperation { Target: IMemberReferenceOperation target } assignment &&
                    SymbolEqualityComparer.Default.Equals(target.Member.OriginalDefinition, member) &&
                    target is IFieldReferenceOperation or IPropertyReferenceOperation)
                    writes.Add(assignment.Value);
            }
        }
        return writes;
    }

    /// <summary>Invocations and object creations of a method or constructor declared in this compilation.</summary>
    public IReadOnlyList<IOperation> CallsTo(IMethodSymbol method)
    {
        method = method.OriginalDefinition;
        if (_callsTo.TryGetValue(method, out var calls)) return calls;
        _callsTo[method] = calls = new List<IOperation>();
        if (!SymbolEqualityComparer.Default.Equals(method.ContainingAssembly, _symbols.Compilation.Assembly)) return calls;
        // A constructor is called by its type's name, a target-typed new(...), or base(...)/this(...).
        var names = method.MethodKind == MethodKind.Constructor
            ? new[] { method.ContainingType.Name, "new", "base", "this" }
            : new[] { method.Name };
        var candidates = new List<IOperation>();
        foreach (var name in names)
        {
            foreach (var block in BlocksMentioning(name, null))
            {
                if (!candidates.Contains(block)) candidates.Add(block);
            }
        }
        foreach (var block in candidates)
        {
            foreach (var operation in block.PreOrder())
            {
                if (ReferenceEquals(operation, block)) continue;
                var target = operation switch
                {
                    IInvocationOperation invocation => invocation.TargetMethod,
                    IObjectCreationOperation creation => creation.Constructor,
                    _ => null,
                };
                if (target is not null && SymbolEqualityComparer.Default.Equals(target.OriginalDefinition, method)) calls.Add(operation);
            }
        }
        return calls;
    }

    /// <summary>Offered blocks whose text contains <paramref name="name"/> (or that <paramref name="owner"/> owns), in source order.</summary>
    private IEnumerable<IOperation> BlocksMentioning(string name, ISymbol? owner)
    {
        EnsureMaps();
        var found = new List<IOperation>();
        if (name.Length == 0) return found;
        foreach (var pair in _blocksByTree!)
        {
            var positions = _marks.Find(pair.Key, name);
            foreach (var offered in pair.Value)
            {
                if (owner is not null && SymbolEqualityComparer.Default.Equals(offered.Owner.OriginalDefinition, owner) ||
                    SourceMarks.AnyWithin(positions, offered.Block.Syntax.Span)) found.Add(offered.Block);
            }
        }
        return found.OrderBy(b => b.Syntax.SyntaxTree.FilePath, StringComparer.Ordinal).ThenBy(b => b.Syntax.SpanStart);
    }

    public LocalWrite? ReachingWrite(ILocalReferenceOperation read) => LocalWrites.Reaching(WritesOf(read.Local, Root(read)), read);

    /// <summary>
    /// The writes of a local in its member (<see cref="FindWrites"/>), cached per member for the compilation-end pass
    /// (one thread, under the analysis lock); <see cref="BlockScope"/> keeps its own cache, so the threads that evaluate
    /// blocks as the user types share no lock here.
    /// </summary>
    private List<LocalWrite> WritesOf(ILocalSymbol local, IOperation root)
    {
        var byLocal = _writesOfLocal.GetOrAdd(root, _ => new ConcurrentDictionary<ILocalSymbol, List<LocalWrite>>(SymbolEqualityComparer.Default));
        if (byLocal.TryGetValue(local, out var known)) return known;
        return byLocal.GetOrAdd(local, FindWrites(local, root));
    }

    /// <summary>The writes of a local in its member, found from the words that name it (<see cref="LocalWrites.Find"/>); read-only.</summary>
    public List<LocalWrite> FindWrites(ILocalSymbol local, IOperation root) =>
        LocalWrites.Find(local, root, _marks.PossibleWriteTokens(root.Syntax.SyntaxTree, local.Name, root.Syntax)) ??
        (_localWrites.GetOrAdd(root, LocalWrites.Collect).TryGetValue(local, out var all) ? all : new List<LocalWrite>());

    /// <summary>The outermost operation of the member that contains <paramref name="operation"/>.</summary>
    public static IOperation Root(IOperation operation)
    {
        var current = operation;
        while (current.Parent is not null) current = current.Parent;
        return current;
    }
}

/// <summary>A block that was offered but not walked: kept for name lookups at compilation end.</summary>
internal sealed class OfferedBlock
{
    public OfferedBlock(ISymbol owner, IOperation block)
    {
        Owner = owner;
        Block = block;
    }

    public ISymbol Owner { get; }
    public IOperation Block { get; }
}

/// <summary>An operation block kept by the index, with what the analysis reads from it, each list in source order.</summary>
internal sealed class IndexedBlock
{
    public IndexedBlock(CompilationIndex index, ISymbol owner, IOperation block)
    {
        Index = index;
        Owner = owner;
        Block = block;
    }

    public CompilationIndex Index { get; }
    public ISymbol Owner { get; }
    public IOperation Block { get; }
    /// <summary>DataLoader creations (<see cref="LoaderCreation.IsCreation"/>), the block itself included.</summary>
    public List<IOperation> LoaderCreations { get; } = new();
    /// <summary><c>backward()</c> calls.</summary>
    public List<IInvocationOperation> Backwards { get; } = new();
    /// <summary>Whether the block was walked in full (it mentions backward or DataLoader); else only its loops were looked for.</summary>
    public bool Walked { get; set; }
    public List<IForEachLoopOperation> ForEachLoops { get; } = new();

    private BlockLossAnalysis? _local;
    private AnalyzerOptions? _localOptions;

    /// <summary>What this block shows by itself (<see cref="BlockLossAnalysis"/>), computed once however often the block is offered.</summary>
    public BlockLossAnalysis LocalAnalysis(AnalyzerOptions options)
    {
        lock (Backwards)
        {
            if (_local is null || !ReferenceEquals(_localOptions, options))
            {
                _local = BlockLossAnalysis.Run(this, options);
                _localOptions = options;
            }
            return _local;
        }
    }
}
