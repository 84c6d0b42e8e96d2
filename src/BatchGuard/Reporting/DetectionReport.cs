using BatchGuard.Detection;

namespace BatchGuard.Reporting;

/// <summary>
/// What a detector found over a run or a recorded log: the end-of-run report of the guard and the output of
/// <c>batchguard analyze</c>, written as JSON by <see cref="DetectionReportJson"/> and as text by
/// <see cref="DetectionReportText"/>.
/// </summary>
/// <param name="Source">The log file as the user named it; null for a live run.</param>
/// <param name="Steps">Steps observed.</param>
/// <param name="Anomalies">The anomalies kept by the detector, in step order (the total is <see cref="Diagnosis.AnomalyCount"/>).</param>
/// <param name="Diagnosis">The diagnosis.</param>
public sealed record DetectionReport(string? Source, long Steps, IReadOnlyList<Anomaly> Anomalies, Diagnosis Diagnosis)
{
    /// <summary>The report of a detector's state now.</summary>
    public static DetectionReport From(LossAnomalyDetector detector, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(detector);
        return new DetectionReport(source, detector.StepsObserved, detector.Anomalies.ToArray(), detector.Diagnose());
    }
}

/// <summary>The words the reports use for the detector's enums: one place, shared by JSON and text.</summary>
public static class ReportNames
{
    /// <summary>"spike", "dip" or "non-finite".</summary>
    public static string Of(AnomalyKind kind) => kind switch
    {
        AnomalyKind.Spike => "spike",
        AnomalyKind.Dip => "dip",
        AnomalyKind.NonFinite => "non-finite",
        _ => kind.ToString(),
    };

    /// <summary>"partial-batch", "periodic" or "other".</summary>
    public static string Of(AnomalyCause cause) => cause switch
    {
        AnomalyCause.PartialBatch => "partial-batch",
        AnomalyCause.Periodic => "periodic",
        AnomalyCause.Other => "other",
        _ => cause.ToString(),
    };

    /// <summary>"none", "adam-sawtooth", "learning-rate-drop" or "one-off-data-spike".</summary>
    public static string Of(LookAlike lookAlike) => lookAlike switch
    {
        LookAlike.None => "none",
        LookAlike.AdamSawtooth => "adam-sawtooth",
        LookAlike.LearningRateDrop => "learning-rate-drop",
        LookAlike.OneOffDataSpike => "one-off-data-spike",
        _ => lookAlike.ToString(),
    };

    /// <summary>The finding in kebab case, e.g. "double-normalisation".</summary>
    public static string Of(Finding finding) => finding switch
    {
        Finding.NotEnoughData => "not-enough-data",
        Finding.Healthy => "healthy",
        Finding.DoubleNormalisation => "double-normalisation",
        Finding.SumOverBatch => "sum-over-batch",
        Finding.BatchSizeDependent => "batch-size-dependent",
        Finding.PeriodicAnomalies => "periodic-anomalies",
        Finding.OneOffAnomalies => "one-off-anomalies",
        Finding.NonFinite => "non-finite",
        _ => finding.ToString(),
    };
}
