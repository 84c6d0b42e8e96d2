using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.Optimization;

/// <summary>
/// The real BatchGuard runtime (src/BatchGuard) as a user who references the package compiles against it: the
/// assembly itself and the logging abstractions its TrainingGuard constructor names.
/// </summary>
internal static class GuardRuntime
{
    public static readonly MetadataReference[] References =
    {
        MetadataReference.CreateFromFile(typeof(BatchGuard.Guard.TrainingGuard).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(Microsoft.Extensions.Logging.ILogger).Assembly.Location),
    };

    /// <summary>Adds the runtime to every state of a test (source, fixed, batch-fixed).</summary>
    public static void AddTo(params SolutionState[] states)
    {
        foreach (var state in states) state.AdditionalReferences.AddRange(References);
    }
}
