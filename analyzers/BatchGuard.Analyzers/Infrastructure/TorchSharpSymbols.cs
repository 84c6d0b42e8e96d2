using System;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers;

/// <summary>
/// TorchSharp's types in one compilation, shared by every BatchGuard analyzer (<see cref="For"/>). Whether the
/// compilation references TorchSharp at all is decided from its references' names (<see cref="IsReferenced"/>), which
/// needs no binding; the types themselves are resolved on first use, inside an analysis callback.
/// </summary>
/// <remarks>
/// Why not at compilation start: the first lookup of a type by metadata name makes the compiler bind every referenced
/// assembly, and the compiler charges that to whichever analyzer asks first. Done in each analyzer's compilation-start
/// action, the analyzers asked at once, waited for each other and were charged about a quarter of their whole
/// time in a cold build for work the compiler does anyway a moment later (docs/performance.md, "Analyzer cost").
/// </remarks>
internal sealed class TorchSharpSymbols
{
    private const string AssemblyName = "TorchSharp";
    private static readonly ConditionalWeakTable<Compilation, TorchSharpSymbols> Shared = new();

    private readonly MetadataReference? _reference;
    private Resolved? _resolved;

    private TorchSharpSymbols(Compilation compilation)
    {
        Compilation = compilation;
        _reference = NamedReference(compilation, AssemblyName, definitely: true);
        ReferencedVersion = VersionOf(_reference as PortableExecutableReference);
    }

    /// <summary>
    /// The compilation's symbols when it may reference TorchSharp (<see cref="IsReferenced"/>), else null; created once
    /// per compilation, resolved lazily.
    /// </summary>
    public static TorchSharpSymbols? For(Compilation compilation) =>
        IsReferenced(compilation) ? Shared.GetValue(compilation, c => new TorchSharpSymbols(c)) : null;

    /// <summary>For code fixes: the symbols when TorchSharp is referenced and its tensor type resolves, else null.</summary>
    public static TorchSharpSymbols? TryCreate(Compilation compilation) => For(compilation) is { Tensor: not null } symbols ? symbols : null;

    /// <summary>
    /// Whether a reference of the compilation is named TorchSharp, from the references alone (no binding): a file
    /// TorchSharp.dll, a project compiling an assembly named TorchSharp, or an image with no name (which only binding
    /// can tell). A TorchSharp build renamed to another file name is not recognised.
    /// </summary>
    public static bool IsReferenced(Compilation compilation) => NamedReference(compilation, AssemblyName) is not null;

    /// <summary>
    /// The first reference that is the assembly named <paramref name="name"/> by its file or project name, or (unless
    /// <paramref name="definitely"/>) one that may be it because it has no name; found without binding.
    /// </summary>
    internal static MetadataReference? NamedReference(Compilation compilation, string name, bool definitely = false)
    {
        MetadataReference? unnamed = null;
        // ExternalReferences, not References: the latter includes #r directives and binds them first.
        foreach (var reference in compilation.ExternalReferences)
        {
            switch (reference)
            {
                case CompilationReference project when project.Compilation.AssemblyName == name:
                    return reference;
                case PortableExecutableReference file when !string.IsNullOrEmpty(file.FilePath):
                    if (string.Equals(FileStem(file.FilePath!), name, StringComparison.OrdinalIgnoreCase)) return reference;
                    break;
                case CompilationReference:
                    break;
                default:
                    unnamed ??= reference;
                    break;
            }
        }
        return definitely ? null : unnamed;
    }

    private static string FileStem(string path)
    {
        var start = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\')) + 1;
        var end = path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)
            ? path.Length - 4
            : path.Length;
        return end > start ? path.Substring(start, end - start) : "";
    }

    /// <summary>The assembly version in a reference's metadata (read, not bound), or null when it cannot be read.</summary>
    private static Version? VersionOf(PortableExecutableReference? reference)
    {
        if (reference is null) return null;
        try
        {
            return reference.GetMetadata() is AssemblyMetadata assembly && assembly.GetModules() is { Length: > 0 } modules &&
                   modules[0].GetMetadataReader() is { IsAssembly: true } reader
                ? reader.GetAssemblyDefinition().Version
                : null;
        }
        catch (Exception e) when (e is BadImageFormatException or System.IO.IOException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    public Compilation Compilation { get; }

    /// <summary>
    /// The version of the referenced TorchSharp as its file says, known without binding (for decisions at compilation
    /// start); null when it cannot be read, in which case <see cref="TorchSharpVersion"/> binds to find it.
    /// </summary>
    public Version? ReferencedVersion { get; }

    private Resolved Types => Volatile.Read(ref _resolved) ?? Resolve();

    private Resolved Resolve()
    {
        // Two threads may both resolve: the same compilation gives them the same symbols, so either result will do.
        var resolved = new Resolved(Compilation, _reference);
        return Interlocked.CompareExchange(ref _resolved, resolved, null) ?? resolved;
    }

    /// <summary><c>torch.Tensor</c>; null when the compilation turns out not to reference TorchSharp after all.</summary>
    public INamedTypeSymbol? Tensor => Types.Tensor;
    public INamedTypeSymbol? Torch => Types.Torch;
    public INamedTypeSymbol? UtilsData => Types.UtilsData;
    public INamedTypeSymbol? NnUtils => Types.NnUtils;
    public INamedTypeSymbol? NnFunctional => Types.NnFunctional;
    public INamedTypeSymbol? Nn => Types.Nn;
    public INamedTypeSymbol? Optim => Types.Optim;
    public INamedTypeSymbol? Optimizer => Types.Optimizer;
    /// <summary><c>TorchSharp.Modules.DataLoader&lt;T,S&gt;</c>, the base of every TorchSharp loader.</summary>
    public INamedTypeSymbol? DataLoaderOfT => Types.DataLoaderOfT;
    public INamedTypeSymbol? DataLoader => Types.DataLoader;
    public INamedTypeSymbol? IterableDataLoader => Types.IterableDataLoader;
    public INamedTypeSymbol? Module => Types.Module;
    public INamedTypeSymbol? Module3 => Types.Module3;
    public INamedTypeSymbol? Loss3 => Types.Loss3;
    public INamedTypeSymbol? Reduction => Types.Reduction;
    /// <summary>The referenced TorchSharp assembly's version (0.107.0.0 for TorchSharp 0.107.0).</summary>
    public Version? TorchSharpVersion => ReferencedVersion ?? Types.TorchSharpVersion;

    /// <summary>The types, looked up in the TorchSharp assembly itself (not across every reference) when it is known.</summary>
    private sealed class Resolved
    {
        public Resolved(Compilation compilation, MetadataReference? reference)
        {
            // In the TorchSharp assembly when its reference is known by name (a lookup in one assembly, not in all of
            // them), else across the compilation.
            var assembly = reference is null ? null : compilation.GetAssemblyOrModuleSymbol(reference) as IAssemblySymbol;
            if (assembly?.GetTypeByMetadataName("TorchSharp.torch+Tensor") is null) assembly = null;
            INamedTypeSymbol? Find(string name) => assembly is not null ? assembly.GetTypeByMetadataName(name) : compilation.GetTypeByMetadataName(name);
            Tensor = Find("TorchSharp.torch+Tensor");
            if (Tensor is null) return;
            Torch = Find("TorchSharp.torch");
            UtilsData = Find("TorchSharp.torch+utils+data");
            NnUtils = Find("TorchSharp.torch+nn+utils");
            NnFunctional = Find("TorchSharp.torch+nn+functional");
            Nn = Find("TorchSharp.torch+nn");
            Optim = Find("TorchSharp.torch+optim");
            Optimizer = Find("TorchSharp.torch+optim+Optimizer");
            DataLoaderOfT = Find("TorchSharp.Modules.DataLoader`2");
            DataLoader = Find("TorchSharp.Modules.DataLoader");
            IterableDataLoader = Find("TorchSharp.Modules.IterableDataLoader");
            Module = Find("TorchSharp.torch+nn+Module");
            Module3 = Find("TorchSharp.torch+nn+Module`3");
            Loss3 = Find("TorchSharp.Loss`3");
            Reduction = Find("TorchSharp.torch+nn+Reduction");
            TorchSharpVersion = Tensor.ContainingAssembly?.Identity.Version;
        }

        public INamedTypeSymbol? Tensor { get; }
        public INamedTypeSymbol? Torch { get; }
        public INamedTypeSymbol? UtilsData { get; }
        public INamedTypeSymbol? NnUtils { get; }
        public INamedTypeSymbol? NnFunctional { get; }
        public INamedTypeSymbol? Nn { get; }
        public INamedTypeSymbol? Optim { get; }
        public INamedTypeSymbol? Optimizer { get; }
        public INamedTypeSymbol? DataLoaderOfT { get; }
        public INamedTypeSymbol? DataLoader { get; }
        public INamedTypeSymbol? IterableDataLoader { get; }
        public INamedTypeSymbol? Module { get; }
        public INamedTypeSymbol? Module3 { get; }
        public INamedTypeSymbol? Loss3 { get; }
        public INamedTypeSymbol? Reduction { get; }
        public Version? TorchSharpVersion { get; }
    }

    public bool IsTensor(ITypeSymbol? type) => type is not null && SymbolEqualityComparer.Default.Equals(type, Tensor);

    public bool IsOptimizer(ITypeSymbol? type) => InheritsFrom(type, Optimizer);

    /// <summary>True for TorchSharp's loaders and user subclasses of them (bound by symbol, never by name).</summary>
    public bool IsDataLoader(ITypeSymbol? type) => InheritsFrom(type, DataLoaderOfT);

    public bool IsModule(ITypeSymbol? type) => InheritsFrom(type, Module);

    /// <summary><c>tensor.backward(...)</c>.</summary>
    public bool IsBackward(IInvocationOperation invocation) =>
        invocation.TargetMethod.Name == "backward" && IsTensor(invocation.TargetMethod.ContainingType);

    /// <summary><c>optimizer.step()</c> on any TorchSharp optimizer (including user subclasses).</summary>
    public bool IsOptimizerStep(IInvocationOperation invocation) =>
        invocation.TargetMethod.Name == "step" && IsOptimizer(invocation.TargetMethod.ContainingType);

    /// <summary><c>optimizer.zero_grad()</c> or <c>module.zero_grad()</c>.</summary>
    public bool IsZeroGrad(IInvocationOperation invocation) =>
        invocation.TargetMethod.Name == "zero_grad" &&
        (IsOptimizer(invocation.TargetMethod.ContainingType) || IsModule(invocation.TargetMethod.ContainingType));

    /// <summary><c>torch.nn.utils.clip_grad_norm_</c> / <c>clip_grad_value_</c>.</summary>
    public bool IsTorchClipCall(IInvocationOperation invocation) =>
        invocation.TargetMethod.Name is "clip_grad_norm_" or "clip_grad_value_" &&
        SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType, NnUtils);

    // ---- DataOrder (BG0009, BG0010) ----

    /// <summary>
    /// TorchSharp's own loader factories: <c>torch.utils.data.DataLoader(...)</c> and the constructors of
    /// <c>DataLoader</c>, <c>IterableDataLoader</c> and <c>DataLoader&lt;T,S&gt;</c> (also when reached through a user
    /// subclass's <c>base(...)</c>). A user subclass's own constructor is not one: its parameters are the user's.
    /// </summary>
    public bool IsDataLoaderFactory(IMethodSymbol method) =>
        method.MethodKind == MethodKind.Constructor
            ? IsTorchSharpLoaderType(method.ContainingType)
            : method.Name == "DataLoader" && SymbolEqualityComparer.Default.Equals(method.ContainingType, UtilsData);

    private bool IsTorchSharpLoaderType(INamedTypeSymbol? type) =>
        type is not null &&
        (SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, DataLoaderOfT) ||
         SymbolEqualityComparer.Default.Equals(type, DataLoader) ||
         SymbolEqualityComparer.Default.Equals(type, IterableDataLoader));

    public static bool InheritsFrom(ITypeSymbol? type, INamedTypeSymbol? baseType)
    {
        if (type is null || baseType is null) return false;
        for (var current = type as INamedTypeSymbol; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, baseType.OriginalDefinition)) return true;
        }
        return false;
    }
}
