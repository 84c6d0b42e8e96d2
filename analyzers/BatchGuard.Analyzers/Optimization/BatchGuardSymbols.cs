using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.Optimization;

/// <summary>
/// BatchGuard's own runtime guard (src/BatchGuard/Guard/TrainingGuard.cs), resolved once per compilation.
/// <see cref="TryCreate"/> returns null when the compilation does not reference the BatchGuard runtime by name.
/// </summary>
internal sealed class BatchGuardSymbols
{
    /// <summary>Metadata name of the runtime guard; a test checks it against the real type.</summary>
    public const string TrainingGuardMetadataName = "BatchGuard.Guard.TrainingGuard";

    private const string RuntimeAssemblyName = "BatchGuard";

    private readonly Compilation _compilation;
    private INamedTypeSymbol? _trainingGuard;
    private int _resolved;

    private BatchGuardSymbols(Compilation compilation) => _compilation = compilation;

    /// <summary>The runtime guard type, resolved on first use (at compilation start it would bind every reference).</summary>
    public INamedTypeSymbol? TrainingGuard
    {
        get
        {
            if (Volatile.Read(ref _resolved) == 0)
            {
                _trainingGuard = _compilation.GetTypeByMetadataName(TrainingGuardMetadataName);
                Volatile.Write(ref _resolved, 1);
            }
            return _trainingGuard;
        }
    }

    public static BatchGuardSymbols? TryCreate(Compilation compilation)
    {
        // Reference names first, as TorchSharpSymbols does (no binding): most TorchSharp projects do not use the runtime.
        if (compilation.AssemblyName != RuntimeAssemblyName && TorchSharpSymbols.NamedReference(compilation, RuntimeAssemblyName) is null) return null;
        return new BatchGuardSymbols(compilation);
    }

    /// <summary>
    /// <c>guard.AfterBackward(loss, batchSize)</c>: clips (or zeroes, to skip) the gradients between the caller's
    /// own backward() and step(), so for BG0006 it is a clipping call that must sit between them.
    /// </summary>
    public bool IsAfterBackward(IInvocationOperation invocation) => IsGuardMethod(invocation, "AfterBackward");

    /// <summary><c>guard.Step(loss, batchSize)</c>: zero_grad, backward, clip and step in one call, in the right order.</summary>
    public bool IsGuardStep(IInvocationOperation invocation) => IsGuardMethod(invocation, "Step");

    private bool IsGuardMethod(IInvocationOperation invocation, string name) =>
        invocation.TargetMethod.Name == name &&
        SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType, TrainingGuard);
}
