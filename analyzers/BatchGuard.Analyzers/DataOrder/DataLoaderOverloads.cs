using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers;

/// <summary>
/// The shape of TorchSharp's DataLoader overload pairs (0.107), shared by the DataOrder analyzer and its fixes. Every
/// factory comes as a pair that differs in one place:
/// <code>
/// (dataset, batchSize, [collate_fn,] bool shuffle = false,      device, int? seed = null, int num_worker = 1, drop_last, ...)
/// (dataset, batchSize, [collate_fn,] IEnumerable&lt;long&gt; shuffler, device, int num_worker = 1,   drop_last, ...)
/// </code>
/// so the position after <c>device</c> is <c>seed</c> in one and <c>num_worker</c> in the other, and an <c>int</c>
/// converts silently to <c>int?</c>.
/// </summary>
internal static class DataLoaderOverloads
{
    public const string Shuffle = "shuffle";
    public const string Shuffler = "shuffler";
    public const string Seed = "seed";
    public const string NumWorker = "num_worker";
    public const string Dataset = "dataset";

    /// <summary>The <c>bool shuffle, ..., int? seed</c> overload.</summary>
    public static bool IsShuffleOverload(IMethodSymbol method) => Has(method, Shuffle) && Has(method, Seed);

    /// <summary>The <c>IEnumerable&lt;long&gt; shuffler, ..., int num_worker</c> overload.</summary>
    public static bool IsShufflerOverload(IMethodSymbol method) => Has(method, Shuffler) && Has(method, NumWorker) && !Has(method, Seed);

    /// <summary>The parameter at the same position in the sibling overload (<c>seed</c> ↔ <c>num_worker</c>), or null.</summary>
    public static string? SiblingParameterAt(IParameterSymbol parameter)
    {
        if (parameter.ContainingSymbol is not IMethodSymbol method) return null;
        if (parameter.Name == Seed && IsShuffleOverload(method)) return NumWorker;
        if (parameter.Name == NumWorker && IsShufflerOverload(method)) return Seed;
        return null;
    }

    /// <summary>Names that say an argument is a worker/thread count.</summary>
    public static bool SaysWorkers(string name) =>
        Contains(name, "worker") || Contains(name, "thread") || Contains(name, "processorcount") || Contains(name, "parallelism");

    /// <summary>Names that say an argument is a seed.</summary>
    public static bool SaysSeed(string name) => Contains(name, "seed");

    /// <summary>
    /// The symbol names an argument's value is built from (<c>numWorkers</c>, <c>Environment.ProcessorCount</c>,
    /// <c>GetSeed()</c>): locals, parameters, fields, properties and called methods.
    /// </summary>
    public static System.Collections.Generic.IEnumerable<string> OriginNames(IOperation value)
    {
        foreach (var operation in value.DescendantsAndSelf())
        {
            switch (operation)
            {
                case ILocalReferenceOperation local: yield return local.Local.Name; break;
                case IParameterReferenceOperation parameter: yield return parameter.Parameter.Name; break;
                case IMemberReferenceOperation member: yield return member.Member.Name; break;
                case IInvocationOperation invocation: yield return invocation.TargetMethod.Name; break;
            }
        }
    }

    private static bool Has(IMethodSymbol method, string parameterName)
    {
        foreach (var parameter in method.Parameters)
        {
            if (parameter.Name == parameterName) return true;
        }
        return false;
    }

    private static bool Contains(string name, string part) => name.IndexOf(part, StringComparison.OrdinalIgnoreCase) >= 0;
}
