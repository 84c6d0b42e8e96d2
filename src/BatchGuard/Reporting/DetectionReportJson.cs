using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BatchGuard.Detection;

namespace BatchGuard.Reporting;

/// <summary>
/// Writes a <see cref="DetectionReport"/> as one JSON object on one line:
/// <c>{"file", "steps", "anomalies": [{"step", "kind", "cause", "loss", "baseline", ...}], "diagnosis": {"period",
/// "batch_size_exponent", "summary", ...}}</c>. Numbers that are not finite are written as null.
/// </summary>
public static class DetectionReportJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keeps "∝", "≈" and "×" in the summary readable; the output is still valid JSON.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The report as a single-line JSON object.</summary>
    public static string Write(DetectionReport report)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions)) Write(writer, report);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes the report as a JSON object to <paramref name="writer"/>.</summary>
    public static void Write(Utf8JsonWriter writer, DetectionReport report)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(report);
        writer.WriteStartObject();
        if (report.Source is not null) writer.WriteString("file", report.Source);
        writer.WriteNumber("steps", report.Steps);
        writer.WriteStartArray("anomalies");
        foreach (var anomaly in report.Anomalies) WriteAnomaly(writer, anomaly);
        writer.WriteEndArray();
        // The detector keeps the most recent anomalies only (bounded memory): say when the list is not all of them.
        writer.WriteNumber("anomalies_total", Math.Max(report.Diagnosis.AnomalyCount, report.Anomalies.Count));
        writer.WriteBoolean("anomalies_truncated", report.Diagnosis.AnomalyCount > report.Anomalies.Count);
        WriteDiagnosis(writer, report.Diagnosis);
        writer.WriteEndObject();
    }

    private static void WriteAnomaly(Utf8JsonWriter writer, Anomaly a)
    {
        writer.WriteStartObject();
        writer.WriteNumber("step", a.Step);
        writer.WriteString("kind", ReportNames.Of(a.Kind));
        writer.WriteString("cause", ReportNames.Of(a.Cause));
        WriteNumber(writer, "loss", a.Loss);
        WriteNumber(writer, "baseline", a.Baseline);
        WriteNumber(writer, "epoch", a.Epoch);
        WriteNumber(writer, "position", a.Position);
        WriteNumber(writer, "batch_size", a.BatchSize);
        WriteNumber(writer, "score", a.Score);
        writer.WriteString("look_alike", ReportNames.Of(a.LookAlike));
        WriteNumber(writer, "after_effect_of", a.AfterEffectOf);
        writer.WriteBoolean("retrospective", a.Retrospective);
        writer.WriteString("explanation", a.Explanation);
        writer.WriteEndObject();
    }

    private static void WriteDiagnosis(Utf8JsonWriter writer, Diagnosis d)
    {
        writer.WriteStartObject("diagnosis");
        WriteNumber(writer, "period", d.Period);
        WriteNumber(writer, "batch_size_exponent", d.BatchSizeExponent);
        writer.WriteString("summary", d.Summary);
        writer.WriteString("finding", ReportNames.Of(d.Finding));
        WriteNumber(writer, "batch_size_exponent_error", d.BatchSizeExponentError);
        WriteNumber(writer, "nominal_batch_size", d.NominalBatchSize);
        WriteNumber(writer, "periodic_position", d.PeriodicPosition);
        writer.WriteNumber("partial_batches", d.PartialBatchesSeen);
        writer.WriteNumber("anomaly_count", d.AnomalyCount);
        writer.WriteNumber("partial_batch_anomalies", d.PartialBatchAnomalies);
        writer.WriteNumber("after_effect_anomalies", d.AfterEffectAnomalies);
        writer.WriteNumber("periodic_anomalies", d.PeriodicAnomalies);
        writer.WriteNumber("other_anomalies", d.OtherAnomalies);
        writer.WriteNumber("non_finite_steps", d.NonFiniteSteps);
        writer.WriteNumber("non_positive_loss_steps", d.NonPositiveLossSteps);
        writer.WriteStartArray("level_shifts");
        foreach (var shift in d.LevelShifts)
        {
            writer.WriteStartObject();
            writer.WriteNumber("step", shift.Step);
            WriteNumber(writer, "position", shift.Position);
            WriteNumber(writer, "factor", shift.Factor);
            writer.WriteString("look_alike", ReportNames.Of(shift.LookAlike));
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v)) writer.WriteNumber(name, v);
        else writer.WriteNull(name);
    }

    private static void WriteNumber(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v) writer.WriteNumber(name, v);
        else writer.WriteNull(name);
    }
}
