using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// The operation blocks of a compilation that touch TorchSharp, gathered while the compiler analyses each member and
/// queried once at compilation end: method bodies (to follow helpers, custom losses' forward, factories), writes to
/// fields and properties, call sites (to follow a loader passed as an argument), and local writes per body.
/// </summary>
/// <remarks>
/// One index per compilation, shared by every analyzer that reports from the batch-degree model
/// (<see cref="ForCompilation"/>): each registers the collection action, the first to offer a block walks it, and the
/// analysis runs once (<see cref="Analysis"/>), whichever analyzer's compilation end comes first. Each analyzer still
/// offers every block itself, so an analyzer run alone (a test, an IDE pass for one rule) sees the whole compilation.
/// </remarks>
internal sealed class CompilationIndex : ISourceLookup
{
    private static readonly ConditionalWeakTable<Compilation, CompilationIndex> Shared = new();

    private readonly TorchSharpSymbols _symbols;
    private readonly ConcurrentDictionary<(ISymbol Owner, SyntaxNode Block), Lazy<IndexedBlock?>> _offered = new(OfferedBlockComparer.Instance);
    private readonly ConcurrentBag<IndexedBlock> _blocks = new();
    private readonly object _analysisGate = new();
    private TrainingLossAnalysis? _analysis;
    private AnalyzerOptions? _analysisOptions;

    private Dictionary<IMethodSymbol, IOperation>? _bodies;
    private Dictionary<IMethodSymbol, List<IOperation>>? _allBlocks;
    private Dictionary<ISymbol, List<IOperation>>? _memberWrites;
    private Dictionary<IMethodSymbol, List<IOperation>>? _callSites;
    private readonly Dictionary<IOperation, Dictionary<ILocalSymbol, List<LocalWrite>>> _localWrites = new();

    /// <summary><see cref="LoaderCreation.Resolve"/>'s results by expression (used only inside <see cref="Analysis"/>, under its lock).</summary>
    public Dictionary<IOperation, ImmutableArray<LoaderCreation>> ResolvedLoaders { get; } = new();

    private CompilationIndex(TorchSharpSymbols symbols) => _symbols = symbols;

    public TorchSharpSymbols Symbols => _symbols;

    /// <summary>
    /// The compilation's index, created by the first analyzer that asks; registers the collection action, which also
    /// hands each kept block to <paramref name="onBlock"/> (the analyzer's as-you-type reporting).
    /// </summary>
    public static CompilationIndex ForCompilation(CompilationStartAnalysisContext context, TorchSharpSymbols symbols,
        Action<OperationBlockAnalysisContext, IndexedBlock>? onBlock = null)
    {
        var index = Shared.GetValue(context.Compilation, _ => new CompilationIndex(symbols));
        context.RegisterOperationBlockAction(block => AnalyzerSafety.Run(() =>
        {
            foreach (var operation in block.OperationBlocks)
            {
                if (index.Add(block.OwningSymbol, operation) is { } kept && onBlock is not null) onBlock(block, kept);
            }
        }));
        return index;
    }

    /// <summary>
    /// The batch-degree analysis of the whole compilation, computed once for all analyzers sharing this index. Call it
    /// at compilation end only: by then the calling analyzer has offered every block. The result is read-only.
    /// </summary>
    public TrainingLossAnalysis Analysis(AnalyzerOptions options)
    {
        lock (_analysisGate)
        {
            if (_analysis is null || !ReferenceEquals(_analysisOptions, options))
            {
                if (_bodies is null) Freeze();
                _analysis = TrainingLossAnalysis.Run(this, options);
                _analysisOptions = options;
            }
            return _analysis;
        }
    }

    /// <summary>
    /// Keeps a member's operation block if it touches TorchSharp (ordinary code that never mentions a TorchSharp type
    /// is not kept), with what the analysis looks up in it, all found in one walk. A block another analyzer already
    /// offered is walked once (same member and syntax: the same block, however its operations were obtained).
    /// Returns the kept block, or null.
    /// </summary>
    public IndexedBlock? Add(ISymbol owner, IOperation block) =>
        _offered.GetOrAdd((owner, block.Syntax), _ => new Lazy<IndexedBlock?>(() => Walk(owner, block))).Value;

    private IndexedBlock? Walk(ISymbol owner, IOperation block)
    {
        var indexed = new IndexedBlock(owner, block);
        // A block without a parent is the root ReachingWrite looks writes up in: collect them in this same walk.
        var localWrites = block.Parent is null ? LocalWrites.New() : null;
        var touchesTorchSharp = false;
        foreach (var operation in block.DescendantsAndSelf())
        {
            if (localWrites is not null) LocalWrites.Record(operation, localWrites);
            if (!touchesTorchSharp && operation.Type is { } type) touchesTorchSharp = IsTorchSharpType(type);
            var isRoot = ReferenceEquals(operation, block);
            // Switch on Kind first: most operations are none of these, and an enum test is cheaper than type tests.
            switch (operation.Kind)
            {
                case OperationKind.Invocation:
                    var invocation = (IInvocationOperation)operation;
                    if (LoaderCreation.IsCreation(invocation, _symbols)) indexed.LoaderCreations.Add(invocation);
                    if (_symbols.IsBackward(invocation)) indexed.Backwards.Add(invocation);
                    if (!isRoot && IsDeclaredHere(invocation.TargetMethod)) indexed.CallSites.Add((invocation.TargetMethod.OriginalDefinition, invocation));
                    break;
                case OperationKind.ObjectCreation:
                    var creation = (IObjectCreationOperation)operation;
                    if (LoaderCreation.IsCreation(creation, _symbols)) indexed.LoaderCreations.Add(creation);
                    if (!isRoot && creation.Constructor is { } constructor && IsDeclaredHere(constructor)) indexed.CallSites.Add((constructor.OriginalDefinition, creation));
                    break;
                case OperationKind.SimpleAssignment when !isRoot:
                    var assignment = (ISimpleAssignmentOperation)operation;
                    if (assignment.Target is IFieldReferenceOperation field) indexed.MemberWrites.Add((field.Field.OriginalDefinition, assignment.Value));
                    else if (assignment.Target is IPropertyReferenceOperation property) indexed.MemberWrites.Add((property.Property.OriginalDefinition, assignment.Value));
                    break;
                case OperationKind.Loop when operation is IForEachLoopOperation forEach:
                    indexed.ForEachLoops.Add(forEach);
                    break;
            }
        }
        indexed.LocalWriteMap = localWrites;
        if (!touchesTorchSharp) return null;
        _blocks.Add(indexed);
        return indexed;
    }

    /// <summary>Only calls to this compilation's methods are looked up (<see cref="CallsTo"/>: parameters of source methods).</summary>
    private bool IsDeclaredHere(IMethodSymbol method) =>
        SymbolEqualityComparer.Default.Equals(method.ContainingAssembly, _symbols.Compilation.Assembly);

    private bool IsTorchSharpType(ITypeSymbol type) =>
        type.ContainingAssembly is { } assembly && SymbolEqualityComparer.Default.Equals(assembly, _symbols.Tensor.ContainingAssembly) ||
        // Only a class can derive from DataLoader or Module: numbers, strings, structs skip the base-type walk.
        type is { TypeKind: TypeKind.Class, SpecialType: SpecialType.None } && (_symbols.IsDataLoader(type) || _symbols.IsModule(type));

    public ImmutableArray<IndexedBlock> Blocks { get; private set; }

    private void Freeze()
    {
        Blocks = _blocks.ToImmutableArray();
        _bodies = new Dictionary<IMethodSymbol, IOperation>(SymbolEqualityComparer.Default);
        _allBlocks = new Dictionary<IMethodSymbol, List<IOperation>>(SymbolEqualityComparer.Default);
        _memberWrites = new Dictionary<ISymbol, List<IOperation>>(SymbolEqualityComparer.Default);
        _callSites = new Dictionary<IMethodSymbol, List<IOperation>>(SymbolEqualityComparer.Default);
        foreach (var indexed in Blocks)
        {
            var block = indexed.Block;
            if (indexed.Owner is IMethodSymbol method)
            {
                // A constructor's base(...) call can come as a block of its own, beside the body.
                Add(_allBlocks, method.OriginalDefinition, block);
                if (block is IMethodBodyBaseOperation or IBlockOperation) _bodies[method.OriginalDefinition] = block;
            }
            if (block is IFieldInitializerOperation fieldInit)
            {
                foreach (var field in fieldInit.InitializedFields) Add(_memberWrites, field.OriginalDefinition, fieldInit.Value);
            }
            if (block is IPropertyInitializerOperation propInit)
            {
                foreach (var property in propInit.InitializedProperties) Add(_memberWrites, property.OriginalDefinition, propInit.Value);
            }
            foreach (var (member, value) in indexed.MemberWrites) Add(_memberWrites, member, value);
            if (indexed.LocalWriteMap is not null) _localWrites[block] = indexed.LocalWriteMap;
            foreach (var (target, call) in indexed.CallSites) Add(_callSites, target, call);
        }
    }

    private static void Add<TKey, TValue>(Dictionary<TKey, List<TValue>> map, TKey key, TValue value) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list)) map[key] = list = new List<TValue>();
        list.Add(value);
    }

    /// <summary>The body of a method declared in this compilation, or null.</summary>
    public IOperation? BodyOf(IMethodSymbol method) =>
        _bodies!.TryGetValue(method.OriginalDefinition, out var body) ? body : null;

    /// <summary>Every operation block of a method declared in this compilation (body, constructor initializer).</summary>
    public IReadOnlyList<IOperation> BlocksOf(IMethodSymbol method) =>
        _allBlocks!.TryGetValue(method.OriginalDefinition, out var blocks) ? blocks : (IReadOnlyList<IOperation>)System.Array.Empty<IOperation>();

    /// <summary>Every value assigned to a field or property anywhere in the compilation (initializers included).</summary>
    public IReadOnlyList<IOperation> WritesTo(ISymbol member) =>
        _memberWrites!.TryGetValue(member.OriginalDefinition, out var writes) ? writes : (IReadOnlyList<IOperation>)System.Array.Empty<IOperation>();

    /// <summary>Invocations and object creations of a method or constructor declared in this compilation.</summary>
    public IReadOnlyList<IOperation> CallsTo(IMethodSymbol method) =>
        _callSites!.TryGetValue(method.OriginalDefinition, out var calls) ? calls : (IReadOnlyList<IOperation>)System.Array.Empty<IOperation>();

    public LocalWrite? ReachingWrite(ILocalReferenceOperation read)
    {
        var root = Root(read);
        if (!_localWrites.TryGetValue(root, out var writesByLocal)) _localWrites[root] = writesByLocal = LocalWrites.Collect(root);
        return LocalWrites.Reaching(writesByLocal, read);
    }

    /// <summary>The outermost operation of the member that contains <paramref name="operation"/>.</summary>
    public static IOperation Root(IOperation operation)
    {
        var current = operation;
        while (current.Parent is not null) current = current.Parent;
        return current;
    }
}

/// <summary>Identifies an offered block by its member and its syntax node.</summary>
internal sealed class OfferedBlockComparer : IEqualityComparer<(ISymbol Owner, SyntaxNode Block)>
{
    public static readonly OfferedBlockComparer Instance = new();

    public bool Equals((ISymbol Owner, SyntaxNode Block) x, (ISymbol Owner, SyntaxNode Block) y) =>
        ReferenceEquals(x.Block, y.Block) && SymbolEqualityComparer.Default.Equals(x.Owner, y.Owner);

    public int GetHashCode((ISymbol Owner, SyntaxNode Block) obj) => RuntimeHelpers.GetHashCode(obj.Block);
}

/// <summary>An operation block kept by the index, with what the analysis reads from it, each list in source order.</summary>
internal sealed class IndexedBlock
{
    public IndexedBlock(ISymbol owner, IOperation block)
    {
        Owner = owner;
        Block = block;
    }

    public ISymbol Owner { get; }
    public IOperation Block { get; }
    /// <summary>DataLoader creations (<see cref="LoaderCreation.IsCreation"/>), the block itself included.</summary>
    public List<IOperation> LoaderCreations { get; } = new();
    /// <summary><c>backward()</c> calls.</summary>
    public List<IInvocationOperation> Backwards { get; } = new();
    /// <summary>Invocations and constructor calls below the block, by their target's original definition.</summary>
    public List<(IMethodSymbol Target, IOperation Call)> CallSites { get; } = new();
    /// <summary>Values assigned to fields and properties below the block (initializers are the block itself).</summary>
    public List<(ISymbol Member, IOperation Value)> MemberWrites { get; } = new();
    public List<IForEachLoopOperation> ForEachLoops { get; } = new();
    /// <summary>For a root block (no parent): its local writes by local, as <see cref="LocalWrites.Reaching"/> reads them.</summary>
    public Dictionary<ILocalSymbol, List<LocalWrite>>? LocalWriteMap { get; set; }

    private BlockLossAnalysis? _local;
    private AnalyzerOptions? _localOptions;

    /// <summary>What this block shows by itself (<see cref="BlockLossAnalysis"/>), computed once for every analyzer that asks.</summary>
    public BlockLossAnalysis LocalAnalysis(TorchSharpSymbols symbols, AnalyzerOptions options)
    {
        lock (Backwards)
        {
            if (_local is null || !ReferenceEquals(_localOptions, options))
            {
                _local = BlockLossAnalysis.Run(this, symbols, options);
                _localOptions = options;
            }
            return _local;
        }
    }
}
