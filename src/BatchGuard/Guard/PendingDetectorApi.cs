#pragma warning disable CS1591 // temporary stand-in
// TEMPORARY stand-in for the detector core (branch `detector`), so the guard builds before the merge.
// Deleted by the merge commit; it mirrors the agreed public API only, with no detection logic.
namespace BatchGuard.Detection;

public readonly record struct StepRecord(long Step, double Loss, int? BatchSize = null, int? Epoch = null, double? GradNorm = null);

public sealed record DetectorOptions
{
    public int? NominalBatchSize { get; init; }
    public int? StepsPerEpoch { get; init; }
    public bool DropLast { get; init; }
}

public enum AnomalyKind { Spike, Dip, NonFinite }
public enum AnomalyCause { PartialBatch, Periodic, Other }
public enum LookAlike { None }

public sealed record Anomaly(long Step, int? Epoch, int? Position, int? BatchSize, AnomalyKind Kind, AnomalyCause Cause, double? Loss, double? Baseline, double Score, LookAlike LookAlike, string Explanation);
public sealed record Diagnosis(int? Period, double? BatchSizeExponent, string Summary);

public sealed class LossAnomalyDetector
{
    private readonly List<Anomaly> _anomalies = new();
    public LossAnomalyDetector(DetectorOptions? options = null) => Options = options ?? new DetectorOptions();
    public DetectorOptions Options { get; }
    public IReadOnlyList<Anomaly> Anomalies => _anomalies;
    public long StepsObserved { get; private set; }
    public Anomaly? Observe(in StepRecord r)
    {
        StepsObserved++;
        if (double.IsFinite(r.Loss) && double.IsFinite(r.GradNorm ?? 0)) return null;
        var a = new Anomaly(r.Step, r.Epoch, null, r.BatchSize, AnomalyKind.NonFinite, AnomalyCause.Other, r.Loss, null, double.PositiveInfinity, LookAlike.None, "non-finite");
        _anomalies.Add(a);
        return a;
    }
    public Diagnosis Diagnose() => new(null, null, "stand-in");
}
