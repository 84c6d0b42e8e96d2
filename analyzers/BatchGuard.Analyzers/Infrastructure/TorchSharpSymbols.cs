using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers;

/// <summary>
/// TorchSharp's types, resolved once per compilation. <see cref="TryCreate"/> returns null when the compilation does
/// not reference TorchSharp, so every BatchGuard analyzer costs nothing there.
/// </summary>
internal sealed class TorchSharpSymbols
{
    private TorchSharpSymbols(Compilation compilation, INamedTypeSymbol tensor)
    {
        Compilation = compilation;
        Tensor = tensor;
        Torch = compilation.GetTypeByMetadataName("TorchSharp.torch");
        UtilsData = compilation.GetTypeByMetadataName("TorchSharp.torch+utils+data");
        NnUtils = compilation.GetTypeByMetadataName("TorchSharp.torch+nn+utils");
        NnFunctional = compilation.GetTypeByMetadataName("TorchSharp.torch+nn+functional");
        Nn = compilation.GetTypeByMetadataName("TorchSharp.torch+nn");
        Optim = compilation.GetTypeByMetadataName("TorchSharp.torch+optim");
        Optimizer = compilation.GetTypeByMetadataName("TorchSharp.torch+optim+Optimizer");
        DataLoaderOfT = compilation.GetTypeByMetadataName("TorchSharp.Modules.DataLoader`2");
        DataLoader = compilation.GetTypeByMetadataName("TorchSharp.Modules.DataLoader");
        IterableDataLoader = compilation.GetTypeByMetadataName("TorchSharp.Modules.IterableDataLoader");
        Module = compilation.GetTypeByMetadataName("TorchSharp.torch+nn+Module");
        Module3 = compilation.GetTypeByMetadataName("TorchSharp.torch+nn+Module`3");
        Loss3 = compilation.GetTypeByMetadataName("TorchSharp.Loss`3");
        Reduction = compilation.GetTypeByMetadataName("TorchSharp.torch+nn+Reduction");
        TorchSharpVersion = tensor.ContainingAssembly?.Identity.Version;
    }

    public Compilation Compilation { get; }
    public INamedTypeSymbol Tensor { get; }
    public INamedTypeSymbol? Torch { get; }
    public INamedTypeSymbol? UtilsData { get; }
    public INamedTypeSymbol? NnUtils { get; }
    public INamedTypeSymbol? NnFunctional { get; }
    public INamedTypeSymbol? Nn { get; }
    public INamedTypeSymbol? Optim { get; }
    public INamedTypeSymbol? Optimizer { get; }
    /// <summary><c>TorchSharp.Modules.DataLoader&lt;T,S&gt;</c>, the base of every TorchSharp loader.</summary>
    public INamedTypeSymbol? DataLoaderOfT { get; }
    public INamedTypeSymbol? DataLoader { get; }
    public INamedTypeSymbol? IterableDataLoader { get; }
    public INamedTypeSymbol? Module { get; }
    public INamedTypeSymbol? Module3 { get; }
    public INamedTypeSymbol? Loss3 { get; }
    public INamedTypeSymbol? Reduction { get; }
    /// <summary>The referenced TorchSharp assembly's version (0.107.0.0 for TorchSharp 0.107.0).</summary>
    public Version? TorchSharpVersion { get; }

    public static TorchSharpSymbols? TryCreate(Compilation compilation)
    {
        // Assembly names first: a metadata-name lookup searches every referenced assembly, measurable on every build
        // of a project that has nothing to do with TorchSharp (docs/performance.md, "Analyzer cost").
        if (!compilation.ReferencedAssemblyNames.Any(a => a.Name == "TorchSharp")) return null;
        var tensor = compilation.GetTypeByMetadataName("TorchSharp.torch+Tensor");
        return tensor is null ? null : new TorchSharpSymbols(compilation, tensor);
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
