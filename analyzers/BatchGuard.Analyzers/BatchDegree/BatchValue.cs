using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.BatchDegree;

internal enum ValueKind
{
    /// <summary>Nothing is known: never flag anything computed from it.</summary>
    Unknown,
    /// <summary>Unrelated to the batch: literals, constants, the dataset size, accumulation steps.</summary>
    Constant,
    /// <summary>A constant that stands for the batch size the loader was configured with, not the batch at hand.</summary>
    NominalBatchSize,
    /// <summary>A tensor with a batch axis (a batch from a loader, model outputs, Reduction.None losses).</summary>
    PerSample,
    /// <summary>A tensor reduced over the batch axis (or a host number read from one).</summary>
    Reduced,
    /// <summary>The element of a DataLoader: a dictionary, list or tuple of per-sample tensors.</summary>
    BatchContainer,
    /// <summary>A built-in TorchSharp loss module with a known reduction.</summary>
    LossCriterion,
    /// <summary>A lambda or method group that computes something when invoked.</summary>
    Function,
}

/// <summary>
/// What the batch-degree model knows about a value: how its magnitude scales with the batch size b (b^Degree), and
/// whether it is a count from the batch (which can be zero, or is the actual batch size).
/// </summary>
internal sealed class BatchValue
{
    public static readonly BatchValue Unknown = new(ValueKind.Unknown);
    public static readonly BatchValue Constant = new(ValueKind.Constant);

    private BatchValue(ValueKind kind) => Kind = kind;

    public ValueKind Kind { get; private set; }
    /// <summary>For <see cref="ValueKind.PerSample"/> and <see cref="ValueKind.Reduced"/>: magnitude ∝ b^Degree.</summary>
    public int Degree { get; private set; }
    /// <summary>A per-sample boolean/indicator tensor (a comparison): its sum is a count.</summary>
    public bool IsMask { get; private set; }
    /// <summary>A count computed from the batch (positives, matches, the actual batch size).</summary>
    public bool IsCount { get; private set; }
    /// <summary>A count that is zero for some batches (e.g. no positives) and is not guarded.</summary>
    public bool CanBeZero { get; private set; }
    /// <summary>A host number (not a tensor); guards are written with Math.Max rather than clamp_min.</summary>
    public bool IsHost { get; private set; }
    /// <summary>The nominal batch size's source text, for messages.</summary>
    public string? Text { get; private set; }
    /// <summary>For a loss criterion: the reduction (TorchSharp's Reduction enum name: None, Mean, Sum).</summary>
    public string? Reduction { get; private set; }
    /// <summary>For a function: the lambda or the referenced method; for a batch container: the enumerated collection.</summary>
    public IOperation? Origin { get; private set; }
    public IMethodSymbol? Method { get; private set; }

    public static BatchValue PerSample(int degree, bool isMask = false) =>
        new(ValueKind.PerSample) { Degree = degree, IsMask = isMask };

    public static BatchValue Reduced(int degree) => new(ValueKind.Reduced) { Degree = degree };

    public static BatchValue Count(bool canBeZero, bool isHost = false) =>
        new(ValueKind.Reduced) { Degree = 1, IsCount = true, CanBeZero = canBeZero, IsHost = isHost };

    /// <summary><c>1.0 / n</c> for a batch count n: degree -1.</summary>
    public static BatchValue ReciprocalCount() => new(ValueKind.Reduced) { Degree = -1, IsReciprocalCount = true };

    /// <summary>A reciprocal of a batch count (<c>1.0 / x.shape[0]</c>): multiplying by it normalises by the batch.</summary>
    public bool IsReciprocalCount { get; private set; }

    public static BatchValue Nominal(string text) => new(ValueKind.NominalBatchSize) { Text = text };

    public static BatchValue Container(IOperation collection) => new(ValueKind.BatchContainer) { Origin = collection };

    public static BatchValue Criterion(string reduction) => new(ValueKind.LossCriterion) { Reduction = reduction };

    public static BatchValue Function(IOperation? lambda, IMethodSymbol? method) =>
        new(ValueKind.Function) { Origin = lambda, Method = method };

    public bool IsTensorWithDegree => Kind is ValueKind.PerSample or ValueKind.Reduced;

    /// <summary>The same value with a different degree (counts stay counts only when the degree is unchanged).</summary>
    public BatchValue WithDegree(int degree) => degree == Degree ? this : new BatchValue(Kind) { Degree = degree };

    public BatchValue AsHost() => Clone(v => v.IsHost = true);

    public BatchValue AsTensor() => Clone(v => v.IsHost = false);

    public BatchValue Guarded() => CanBeZero ? Clone(v => v.CanBeZero = false) : this;

    public BatchValue WithoutMask() => IsMask ? Clone(v => v.IsMask = false) : this;

    private BatchValue Clone(System.Action<BatchValue> change)
    {
        var copy = (BatchValue)MemberwiseClone();
        change(copy);
        return copy;
    }

    public static bool SameMagnitude(BatchValue a, BatchValue b) =>
        a.Kind == b.Kind && a.Degree == b.Degree &&
        (a.Kind is not (ValueKind.LossCriterion or ValueKind.Function or ValueKind.BatchContainer) || ReferenceEquals(a, b) ||
         (a.Reduction == b.Reduction && a.Origin == b.Origin && SymbolEqualityComparer.Default.Equals(a.Method, b.Method)));

    /// <summary>Where several values can flow (branches, several returns): agree or know nothing.</summary>
    public static BatchValue Join(BatchValue a, BatchValue b)
    {
        if (!SameMagnitude(a, b)) return Unknown;
        if (a.CanBeZero == b.CanBeZero && a.IsMask == b.IsMask && a.IsCount == b.IsCount) return a;
        return a.Kind is ValueKind.PerSample or ValueKind.Reduced ? (a.Kind == ValueKind.PerSample ? PerSample(a.Degree) : Reduced(a.Degree)) : a;
    }

    public override string ToString() => $"{Kind}({Degree}{(IsCount ? ", count" : "")}{(CanBeZero ? ", can be zero" : "")})";
}
