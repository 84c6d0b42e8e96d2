using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.Optimization;

/// <summary>
/// BatchGuard's own runtime guard (src/BatchGuard/Guard/TrainingGuard.cs), resolved once per compilation.
/// <see cref="TryCreate"/> returns null when the compilation does not reference the BatchGuard runtime.
/// </summary>
internal sealed class BatchGuardSymbols
{
    /// <summary>Metadata name of the runtime guard; a test checks it against the real type.</summary>
    public const string TrainingGuardMetadataName = "BatchGuard.Guard.TrainingGuard";

    private const string RuntimeAssemblyName = "BatchGuard";

    private BatchGuardSymbols(INamedTypeSymbol trainingGuard) => TrainingGuard = trainingGuard;

    public INamedTypeSymbol TrainingGuard { get; }

    public static BatchGuardSymbols? TryCreate(Compilation compilation)
    {
        // Assembly names first (cheap), as TorchSharpSymbols does: most TorchSharp projects do not use the runtime.
        if (compilation.AssemblyName != RuntimeAssemblyName &&
            !compilation.ReferencedAssemblyNames.Any(a => a.Name == RuntimeAssemblyName)) return null;
        return compilation.GetTypeByMetadataName(TrainingGuardMetadataName) is { } guard ? new BatchGuardSymbols(guard) : null;
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
