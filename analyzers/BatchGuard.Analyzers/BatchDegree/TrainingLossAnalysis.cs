using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

/// <summary>
/// The whole-compilation picture the partial-batch and loss-normalisation rules report from (<see cref="BatchDegreeAnalyzer"/>): every
/// <c>backward()</c>'s loss evaluated with the batch-degree model (findings BG0003-BG0005), every DataLoader creation,
/// which loops consume which loader, and which loaders feed a batch-size-dependent loss. Computed once per compilation
/// (<see cref="CompilationIndex.Analysis"/>) and read-only afterwards.
/// </summary>
internal sealed class TrainingLossAnalysis
{
    /// <summary>TorchSharp's enumerator honours drop_last from this version on (TorchSharp PR #1306).</summary>
    public static readonly Version FirstVersionHonouringDropLast = new(0, 102, 5);

    private TrainingLossAnalysis(CompilationIndex index) => Index = index;

    public CompilationIndex Index { get; }
    public List<LossFinding> Findings { get; } = new();
    public List<LoaderCreation> Creations { get; } = new();
    /// <summary>For each creation (keyed by its syntax: stable however the operation was reached): the foreach loops that enumerate it.</summary>
    public Dictionary<SyntaxNode, List<IForEachLoopOperation>> Consumers { get; } = new(IdentityComparer.Instance);
    /// <summary>The consuming loops (<see cref="Consumers"/>) that are training loops (<see cref="TrainingLoopFinder"/>).</summary>
    public HashSet<ILoopOperation> TrainingLoops { get; } = new(IdentityComparer.Instance);
    /// <summary>BG0003/BG0004 findings keyed by the loader creations (their syntax) whose batches reached them.</summary>
    public Dictionary<SyntaxNode, List<LossFinding>> BatchDependentLossesByLoader { get; } = new(IdentityComparer.Instance);
    /// <summary>Findings already reported by their block as the user typed (<see cref="BlockLossAnalysis.Reportable"/>), by rule and site.</summary>
    public HashSet<FindingKey> ReportedAsTyped { get; } = new();
    /// <summary>Loader creations (their syntax) whose BG0001 their block already reported (<see cref="BlockLossAnalysis.ReportableLoaders"/>).</summary>
    public HashSet<SyntaxNode> LoadersReportedAsTyped { get; } = new(IdentityComparer.Instance);

    public static TrainingLossAnalysis Run(CompilationIndex index, AnalyzerOptions options)
    {
        var analysis = new TrainingLossAnalysis(index);
        var symbols = index.Symbols;
        var findings = new Dictionary<FindingKey, LossFinding>();
        var evaluator = new DegreeEvaluator(index, (at, name) => IsNominalBatchSizeName(options, at, name), findings);

        // What the blocks' complete evaluations resolved is what this pass would: reuse it (the loops' loaders, and the
        // creations with their dataset sizes) instead of following the same locals and helpers again.
        var known = new Dictionary<SyntaxNode, LoaderCreation>(IdentityComparer.Instance);
        foreach (var block in index.Blocks)
        {
            if (block.Backwards.Count == 0) continue;
            foreach (var evaluation in block.LocalAnalysis(options).Evaluations)
            {
                if (evaluation.ResolvedLoaders is not { } resolved) continue;
                foreach (var pair in resolved)
                {
                    if (!index.ResolvedLoaders.ContainsKey(pair.Key)) index.ResolvedLoaders[pair.Key] = pair.Value;
                    foreach (var creation in pair.Value)
                    {
                        if (!known.ContainsKey(creation.Syntax)) known[creation.Syntax] = creation;
                    }
                }
            }
        }

        var seen = new HashSet<SyntaxNode>(IdentityComparer.Instance);
        foreach (var block in index.Blocks)
        {
            foreach (var call in block.LoaderCreations)
            {
                var creation = known.TryGetValue(call.Syntax, out var reused) ? reused : LoaderCreation.TryCreate(call, symbols, index);
                if (creation is not null && seen.Add(creation.Syntax)) analysis.Creations.Add(creation);
            }
            foreach (var forEach in block.ForEachLoops)
            {
                if (!symbols.IsDataLoader(forEach.Collection.WalkDownConversions().Type)) continue;
                foreach (var source in LoaderCreation.Resolve(forEach.Collection, index))
                {
                    if (!analysis.Consumers.TryGetValue(source.Syntax, out var loops)) analysis.Consumers[source.Syntax] = loops = new();
                    loops.Add(forEach);
                }
            }
            if (block.Backwards.Count == 0) continue;
            // The block's own evaluations: complete ones are reused, the others need the whole compilation.
            var local = block.LocalAnalysis(options);
            foreach (var evaluation in local.Evaluations)
            {
                if (evaluation.Complete)
                {
                    foreach (var finding in evaluation.Findings) Merge(findings, finding);
                }
                else
                {
                    EvaluateBackward(evaluation.Backward, index, evaluator);
                }
            }
            foreach (var finding in local.Reportable) analysis.ReportedAsTyped.Add(FindingKey.Of(finding));
            foreach (var loader in local.ReportableLoaders) analysis.LoadersReportedAsTyped.Add(loader.Creation.Syntax);
        }
        foreach (var loop in analysis.Consumers.Values.SelectMany(loops => loops))
        {
            if (TrainingLoopFinder.IsTrainingLoop(loop, symbols)) analysis.TrainingLoops.Add(loop);
        }
        analysis.Findings.AddRange(findings.Values.OrderBy(f => f.Site.Syntax.SpanStart));
        analysis.IndexLossesByLoader();
        return analysis;
    }

    /// <summary>
    /// Evaluates the loss of one <c>backward()</c> within <paramref name="lookup"/>'s scope: the loaders enumerated by
    /// its enclosing loops give the nominal batch size, and whether their batches are always full.
    /// </summary>
    /// <remarks>
    /// A <c>backward()</c> outside any loop (a training step written as a method, local function or lambda) gets its
    /// batches from the loops that call it: when every call site visible in the compilation sits in a loop over a
    /// loader, those loaders are the ones that feed it, and its batches are full only if they are full at every call
    /// site. A step called from anywhere else, or from nowhere visible, is judged as before (the nominal batch size by
    /// its name).
    /// </remarks>
    public static void EvaluateBackward(IInvocationOperation backward, ISourceLookup lookup, DegreeEvaluator evaluator)
    {
        if (evaluator.ReachesOnlyALibraryLoss(backward)) return;
        var symbols = lookup.Symbols;
        var loops = EnclosingLoaderLoops(backward, lookup);
        var sites = new List<List<LoaderLoop>> { loops };
        if (loops.Count == 0 && !backward.IsInALoopOfItsBody())
        {
            // A step method's call sites need the whole compilation: look for them only when a finding depends on the
            // loaders (BG0003), so that the step's other findings still show as the user types.
            if (backward.EnclosingFunction() is null)
            {
                evaluator.EvaluateBackward(backward, ImmutableArray<LoaderCreation>.Empty, Array.Empty<IOperation>(), batchesAreFull: false);
                if (!evaluator.LastEvaluationFoundSumOverNominalBatchSize) return;
                evaluator.RetractLastEvaluation();
            }
            if (CallSiteLoops(backward, lookup) is { } callers) sites = callers;
        }
        var loaders = ImmutableArray.CreateBuilder<LoaderCreation>();
        var collections = new List<IOperation>();
        var batchesAreFull = true;
        foreach (var siteLoops in sites)
        {
            var siteLoaders = siteLoops.SelectMany(l => LoaderCreation.Resolve(l.Collection, lookup)).ToImmutableArray();
            batchesAreFull &= BatchesAreFull(siteLoops, siteLoaders, symbols);
            loaders.AddRange(siteLoaders);
            // A manual enumerator's loop is no consumer the loader's BG0001 looks at: one that skips short batches
            // must not link the loader to the loss.
            collections.AddRange(siteLoops.Where(l => !l.Unmodelled && (l.Loop is IForEachLoopOperation || !LoaderCreation.HandlesShortBatches(l.Loop)))
                .Select(l => l.Collection));
        }
        evaluator.EvaluateBackward(backward, loaders.ToImmutable(), collections, batchesAreFull);
    }

    /// <summary>Whether the loops around one place always give it full batches: drop_last, an exact data set, or a skip.</summary>
    private static bool BatchesAreFull(List<LoaderLoop> loops, ImmutableArray<LoaderCreation> loaders, TorchSharpSymbols symbols) =>
        loops.Any(l => LoaderCreation.HandlesShortBatches(l.Loop)) || loaders.Length > 0 && loaders.All(l => GivesFullBatches(l, symbols));

    /// <summary>Whether a loader never yields a short batch: drop_last (honoured by this TorchSharp), or an exact data set.</summary>
    private static bool GivesFullBatches(LoaderCreation loader, TorchSharpSymbols symbols) =>
        !loader.CanYieldShortBatch && (symbols.TorchSharpVersion is not { } version || version >= FirstVersionHonouringDropLast || loader.IsExact);

    /// <summary>
    /// For a <c>backward()</c> in a training step (a method, a local function, or a lambda held in a local), the loader
    /// loops around each place the step is called; null when a call site is in no such loop, the step is used other
    /// than by calling it, or no call site is visible.
    /// </summary>
    private static List<List<LoaderLoop>>? CallSiteLoops(IOperation backward, ISourceLookup lookup)
    {
        var body = backward.EnclosingFunction();
        var root = CompilationIndex.Root(backward);
        IEnumerable<IOperation>? calls = body switch
        {
            ILocalFunctionOperation function => UsesOf(root, function, o =>
                o is IInvocationOperation call && SymbolEqualityComparer.Default.Equals(call.TargetMethod.OriginalDefinition, function.Symbol) ? call :
                o is IMethodReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Method.OriginalDefinition, function.Symbol) ? reference : null),
            IAnonymousFunctionOperation lambda => LambdaLocal(lambda) is { } local
                ? UsesOf(root, lambda, o => o is ILocalReferenceOperation read && SymbolEqualityComparer.Default.Equals(read.Local, local) ? read : null)
                : null,
            _ => root.SemanticModel?.GetDeclaredSymbol(root.Syntax) is IMethodSymbol { MethodKind: MethodKind.Ordinary } method && !UsedAsAMethodGroup(method)
                ? lookup.CallsTo(method).Where(call => !ReferenceEquals(CompilationIndex.Root(call), root))
                : null,
        };
        if (calls is null) return null;
        var result = new List<List<LoaderLoop>>();
        foreach (var use in calls)
        {
            // A lambda's local must be called (step(x, y)), not passed on; a local function must be called, not converted.
            var call = use switch
            {
                IInvocationOperation invocation => invocation,
                ILocalReferenceOperation read when read.Parent is IInvocationOperation invocation && ReferenceEquals(invocation.Instance, read) => invocation,
                _ => null,
            };
            if (call is null) return null;
            var loops = EnclosingLoaderLoops(call, lookup);
            if (loops.Count == 0) loops = FullLoadersOfAnUnmodelledLoop(call, lookup) ?? loops;
            if (loops.Count == 0) return null;
            result.Add(loops);
        }
        return result.Count > 0 ? result : null;
    }

    /// <summary>
    /// For a step's call site in a loop that reads a loader in a shape the model does not follow (<c>foreach (var b in
    /// loader.Take(n))</c>, a list of its batches indexed in a <c>for</c>, <c>while (e.MoveNext() &amp;&amp; step &lt; max)</c>): the
    /// loaders the call's arguments come from, when every tensor they pass comes from a loader (through the loop's
    /// variable, a list of batches or an enumerator, each followed to what it was made from) and none of those loaders
    /// can yield a short batch (drop_last, an exact data set). The batches reaching the step are then full whatever the
    /// loop does with them. Anything else an argument reads that is not a plain number — a tensor sliced by hand, a
    /// list of hand-made batches beside the loader, a custom batcher — and the answer is null: the step is judged by its
    /// divisor's name, as before. These loops only ever clear a step (<see cref="LoaderLoop.Unmodelled"/>): they never
    /// tie a loader to its loss for BG0001.
    /// </summary>
    private static List<LoaderLoop>? FullLoadersOfAnUnmodelledLoop(IInvocationOperation call, ISourceLookup lookup)
    {
        ILoopOperation? innermost = null;
        for (var current = call.Parent; current is not null && innermost is null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) break;
            innermost = current as ILoopOperation;
        }
        if (innermost is null) return null;

        var symbols = lookup.Symbols;
        var loaders = new List<IOperation>();
        // Locals already judged: made from loaders only (true) or not.
        var judged = new Dictionary<ILocalSymbol, bool>(SymbolEqualityComparer.Default);
        var sawLoader = false;
        foreach (var argument in call.Arguments)
        {
            if (argument.ArgumentKind != ArgumentKind.DefaultValue && !FromLoadersOnly(argument.Value, 0, ref sawLoader)) return null;
        }
        if (loaders.Count == 0) return null;

        var loops = new List<LoaderLoop>();
        foreach (var loader in loaders)
        {
            var creations = LoaderCreation.Resolve(loader, lookup);
            if (creations.IsEmpty || !creations.All(c => GivesFullBatches(c, symbols))) return null;
            loops.Add(new LoaderLoop(innermost, loader, unmodelled: true));
        }
        return loops;

        // Whether every value the expression reads that can hold a batch is a loader, or a local made from loaders only
        // (the loop's variable of a foreach over one, `loader.ToList()`, `loader.GetEnumerator()`, `var (x, y) = (b["x"],
        // b["y"])`: its value reads a loader, or such a local, and nothing else, and the method adds nothing to it later);
        // collects the loaders.
        bool FromLoadersOnly(IOperation expression, int depth, ref bool sawLoader)
        {
            foreach (var operation in expression.PreOrder())
            {
                // A part of a batch (micro-batches: `x.narrow(0, i, n)`, `x[TensorIndex.Slice(...)]`, `x.chunk(4)`) is not
                // the loader's batch: its size is not the loader's.
                if (operation is IInvocationOperation { TargetMethod.Name: "narrow" or "slice" or "split" or "chunk" or "tensor_split" or
                        "index" or "index_select" or "take" or "masked_select" or "unbind" or "select" or "GetRange" or "Skip" or "Take" } part &&
                    (symbols.IsTensor(part.Instance?.Type) || symbols.IsTensor(part.Type)) ||
                    operation is IPropertyReferenceOperation { Arguments.Length: > 0 } indexer && symbols.IsTensor(indexer.Instance?.Type))
                    return false;
                // The roots values come from: locals, parameters, fields and the type's own properties. A member read on
                // a value (`b["x"]`, `e.Current`, `x.shape`) is a path from its root, visited below it.
                var isRoot = operation is ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation ||
                             operation is IPropertyReferenceOperation { Instance: null or IInstanceReferenceOperation };
                if (!isRoot || operation.Type is not { } type) continue;
                if (symbols.IsDataLoader(type))
                {
                    loaders.Add(operation);
                    sawLoader = true;
                    continue;
                }
                // A setting read on the way (`b["x"].to(device)`, `options.MaxSteps`, the model) carries no batch.
                if (!MayCarryTensors(UsedValueType(operation), 0)) continue;
                if (operation is not ILocalReferenceOperation read || depth >= 3) return false;
                if (!judged.TryGetValue(read.Local, out var madeFromLoaders))
                {
                    judged[read.Local] = false; // a cycle through the same local is no proof
                    var write = lookup.ReachingWrite(read);
                    var source = write?.Deconstruction?.Value ?? (write?.Operation switch
                    {
                        IForEachLoopOperation forEach => forEach.Collection,
                        { } written => LoaderCreation.ValueOf(written),
                        null => null,
                    });
                    var sourceSawLoader = false;
                    madeFromLoaders = source is not null && !IsAddedTo(read) && FromLoadersOnly(source, depth + 1, ref sourceSawLoader) && sourceSawLoader;
                    judged[read.Local] = madeFromLoaders;
                }
                if (!madeFromLoaders) return false;
                sawLoader = true;
            }
            return true;
        }
    }

    /// <summary>The type of what is read from a root: through member reads on it (`options.MaxSteps` is an int).</summary>
    private static ITypeSymbol UsedValueType(IOperation root)
    {
        var used = root;
        while (used.Parent is IPropertyReferenceOperation or IFieldReferenceOperation && ((IMemberReferenceOperation)used.Parent).Instance == used &&
               used.Parent.Type is not null)
            used = used.Parent;
        return used.Type ?? root.Type!;
    }

    /// <summary>Whether the method adds to the collection a local holds (`batches.Add(...)`, `batches[i] = ...`).</summary>
    private static bool IsAddedTo(ILocalReferenceOperation read)
    {
        foreach (var operation in CompilationIndex.Root(read).PreOrder())
        {
            var target = operation switch
            {
                IInvocationOperation { TargetMethod.Name: "Add" or "AddRange" or "Insert" or "InsertRange" or "Enqueue" or "Push" } call => call.Instance,
                ISimpleAssignmentOperation { Target: IPropertyReferenceOperation { Arguments.Length: > 0 } indexer } => indexer.Instance,
                _ => null,
            };
            if (target?.WalkDownConversions() is ILocalReferenceOperation written && SymbolEqualityComparer.Default.Equals(written.Local, read.Local)) return true;
        }
        return false;
    }

    /// <summary>
    /// Whether a value of the type can hold a batch's tensors: a tensor, a collection or tuple of something that can, a
    /// type of the compilation with a field or property that can, or a type not known to hold none (object, a type
    /// parameter). A library type other than a tensor or a collection (a Device, a ScalarType, a module, a logger) holds none.
    /// </summary>
    private static bool MayCarryTensors(ITypeSymbol type, int depth)
    {
        if (depth > 3) return true;
        switch (type)
        {
            case IArrayTypeSymbol array:
                return MayCarryTensors(array.ElementType, depth + 1);
            case ITypeParameterSymbol or IDynamicTypeSymbol or IErrorTypeSymbol:
                return true;
            case INamedTypeSymbol named:
                if (IsPlainValue(named)) return false;
                if (named.SpecialType == SpecialType.System_Object || named.Name == "Tensor") return true;
                // A type of the compilation holds what its fields and properties can hold (a batch record does; a logger
                // interface or an options class of numbers does not).
                if (named.Locations.Any(l => l.IsInSource))
                    return named.GetMembers().Any(m => !m.IsStatic && m switch
                    {
                        IFieldSymbol field => !SymbolEqualityComparer.Default.Equals(field.Type, named) && MayCarryTensors(field.Type, depth + 1),
                        IPropertySymbol property => !SymbolEqualityComparer.Default.Equals(property.Type, named) && MayCarryTensors(property.Type, depth + 1),
                        _ => false,
                    });
                // A collection, tuple or pair of tensors holds them; a module or optimizer (Module<Tensor, Tensor>), a logger,
                // a cancellation token do not.
                var holds = named.IsTupleType || named.Name is "KeyValuePair" or "Nullable" or "Tuple" ||
                            named.TypeKind == TypeKind.Interface && named.Name.StartsWith("IEnumera", System.StringComparison.Ordinal) ||
                            named.AllInterfaces.Any(i => i.Name == "IEnumerable");
                return holds && named.TypeArguments.Any(argument => MayCarryTensors(argument, depth + 1));
            default:
                return true;
        }
    }

    /// <summary>A number, a bool, a string or an enum: a value that carries no batch (a step count, an index, a flag).</summary>
    private static bool IsPlainValue(ITypeSymbol type) =>
        type.TypeKind == TypeKind.Enum || type.SpecialType is SpecialType.System_Boolean or SpecialType.System_String or SpecialType.System_Char or
            SpecialType.System_SByte or SpecialType.System_Byte or SpecialType.System_Int16 or SpecialType.System_UInt16 or
            SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64 or
            SpecialType.System_Single or SpecialType.System_Double or SpecialType.System_Decimal;

    /// <summary>
    /// Whether the method's name stands in its type other than as the called expression of a call (<c>Action step =
    /// Step;</c>, <c>loader.ForEach(Step)</c>): its call sites would not be all the places it runs from. (Uses outside its
    /// type are not looked for.)
    /// </summary>
    private static bool UsedAsAMethodGroup(IMethodSymbol method)
    {
        foreach (var reference in method.ContainingType.DeclaringSyntaxReferences)
        {
            foreach (var name in reference.GetSyntax().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                if (name.Identifier.ValueText != method.Name) continue;
                SyntaxNode used = name.Parent is MemberAccessExpressionSyntax access && access.Name == name ? access : name;
                if (used.Parent is InvocationExpressionSyntax invocation && invocation.Expression == used) continue;
                return true;
            }
        }
        return false;
    }

    /// <summary>The operations of <paramref name="root"/> outside <paramref name="body"/> that <paramref name="select"/> keeps.</summary>
    private static List<IOperation> UsesOf(IOperation root, IOperation body, Func<IOperation, IOperation?> select)
    {
        var uses = new List<IOperation>();
        foreach (var operation in root.PreOrder())
        {
            if (select(operation) is { } use && !ReferenceEquals(use, body) && !TrainingLoopFinder.IsInside(use, body)) uses.Add(use);
        }
        return uses;
    }

    /// <summary>The local a lambda is stored in at its declaration (<c>Action&lt;Tensor&gt; step = x =&gt; ...;</c>), or null.</summary>
    private static ILocalSymbol? LambdaLocal(IAnonymousFunctionOperation lambda)
    {
        var parent = lambda.Parent;
        while (parent is IDelegateCreationOperation or IConversionOperation) parent = parent.Parent;
        return parent is IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } ? declarator.Symbol : null;
    }

    /// <summary>Adds a copy of a block's finding (whose own object stays with the block's evaluation).</summary>
    private static void Merge(Dictionary<FindingKey, LossFinding> findings, LossFinding finding)
    {
        var key = FindingKey.Of(finding);
        if (!findings.TryGetValue(key, out var merged))
        {
            findings[key] = merged = new LossFinding(finding.RuleId, finding.Site, finding.Divisor, finding.MessageArgs, finding.Properties);
        }
        merged.FeedingCollections.UnionWith(finding.FeedingCollections);
    }

    private void IndexLossesByLoader()
    {
        foreach (var finding in Findings)
        {
            if (finding.RuleId is not (RuleIds.SumDividedByNominalBatchSize or RuleIds.LossNormalizedTwice)) continue;
            foreach (var collection in finding.FeedingCollections)
            {
                foreach (var creation in LoaderCreation.Resolve(collection, Index))
                {
                    if (!BatchDependentLossesByLoader.TryGetValue(creation.Syntax, out var list)) BatchDependentLossesByLoader[creation.Syntax] = list = new();
                    if (!list.Contains(finding)) list.Add(finding);
                }
            }
        }
    }

    /// <summary>
    /// The loops around <paramref name="operation"/> that read a loader's batches: <c>foreach (var b in loader)</c>, and
    /// a manual enumerator's <c>while (e.MoveNext())</c> with <c>e = loader.GetEnumerator()</c>.
    /// </summary>
    private static List<LoaderLoop> EnclosingLoaderLoops(IOperation operation, ISourceLookup lookup)
    {
        var symbols = lookup.Symbols;
        var loops = new List<LoaderLoop>();
        for (var current = operation.Parent; current is not null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) break;
            if (current is IForEachLoopOperation forEach && symbols.IsDataLoader(forEach.Collection.WalkDownConversions().Type))
                loops.Add(new LoaderLoop(forEach, forEach.Collection.WalkDownConversions()));
            else if (current is IWhileLoopOperation manual && LoaderCreation.EnumeratedByManualLoop(manual, lookup) is { } loader)
                loops.Add(new LoaderLoop(manual, loader));
        }
        return loops;
    }

    /// <summary>A loop that reads a loader's batches, and the loader expression it reads them from.</summary>
    private sealed class LoaderLoop(ILoopOperation loop, IOperation collection, bool unmodelled = false)
    {
        public ILoopOperation Loop { get; } = loop;
        public IOperation Collection { get; } = collection;
        /// <summary>
        /// A loop that reads the loader in a shape the model does not follow, known only to get full batches
        /// (<see cref="FullLoadersOfAnUnmodelledLoop"/>): it clears a step, and links no loader to a loss.
        /// </summary>
        public bool Unmodelled { get; } = unmodelled;
    }

    /// <summary>
    /// A symbol named like the nominal batch size: batchSize, BatchSize, batch_size, BATCH_SIZE, trainBatchSize..., or a
    /// name listed in <c>dotnet_diagnostic.BG0003.nominal_batch_size_names</c>.
    /// </summary>
    public static bool IsNominalBatchSizeName(AnalyzerOptions options, IOperation at, string name)
    {
        if (EndsWithBatchSize(name)) return true;
        var extra = RuleOptions.GetList(options, at.Syntax.SyntaxTree, RuleIds.SumDividedByNominalBatchSize, "nominal_batch_size_names");
        return extra.Contains(name, StringComparer.Ordinal);
    }

    /// <summary>Whether the name ends in "batchsize", ignoring case and underscores (batchSize, BATCH_SIZE, train_batch_size); allocates nothing.</summary>
    private static bool EndsWithBatchSize(string name)
    {
        const string suffix = "batchsize";
        var matched = suffix.Length;
        for (var i = name.Length - 1; i >= 0 && matched > 0; i--)
        {
            if (name[i] == '_') continue;
            if (char.ToLowerInvariant(name[i]) != suffix[matched - 1]) return false;
            matched--;
        }
        return matched == 0;
    }
}
