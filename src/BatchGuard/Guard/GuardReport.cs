using System.Text;
using System.Text.Json;
using BatchGuard.Detection;

namespace BatchGuard.Guard;

/// <summary>The end-of-run report of a <see cref="TrainingGuard"/>: the detector's diagnosis plus what the guard did.</summary>
public sealed record GuardReport(
    long Steps, long AnomalousSteps, long SkippedSteps, long NonFiniteSteps, long ClippedSteps, long RepairedSteps,
    double? RepairExponent, Diagnosis Diagnosis, IReadOnlyList<GuardEvent> Events)
{
    /// <summary>One paragraph: what is wrong, what to change, and what the guard did about it.</summary>
    public string Summary
    {
        get
        {
            var text = new StringBuilder(Diagnosis.Summary.TrimEnd());
            if (text.Length > 0 && text[^1] != '.') text.Append('.');
            text.Append(text.Length > 0 ? " " : "").Append($"The guard watched {Steps} steps: {AnomalousSteps} anomalous, ");
            text.Append($"{SkippedSteps} skipped ({NonFiniteSteps} non-finite), {ClippedSteps} clipped, {RepairedSteps} repaired");
            if (RepairExponent is double k) text.Append($" with the measured exponent k = {k:0.00}");
            return text.Append('.').ToString();
        }
    }

    /// <summary>The report as one JSON object (snake_case names, like <c>batchguard analyze --format json</c>).</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("steps", Steps);
            json.WriteNumber("anomalous_steps", AnomalousSteps);
            json.WriteNumber("skipped_steps", SkippedSteps);
            json.WriteNumber("non_finite_steps", NonFiniteSteps);
            json.WriteNumber("clipped_steps", ClippedSteps);
            json.WriteNumber("repaired_steps", RepairedSteps);
            WriteNumberOrNull(json, "repair_exponent", RepairExponent);
            json.WriteStartArray("anomalies");
            foreach (var e in Events)
            {
                json.WriteStartObject();
                json.WriteNumber("step", e.Step);
                WriteNumberOrNull(json, "epoch", e.Epoch);
                WriteNumberOrNull(json, "position", e.Position);
                json.WriteNumber("batch_size", e.BatchSize);
                json.WriteString("kind", e.Kind switch { AnomalyKind.Spike => "spike", AnomalyKind.Dip => "dip", _ => "non-finite" });
                json.WriteString("cause", e.Cause switch { AnomalyCause.PartialBatch => "partial-batch", AnomalyCause.Periodic => "periodic", _ => "other" });
                WriteNumberOrNull(json, "loss", e.Loss);
                WriteNumberOrNull(json, "baseline", e.Baseline);
                json.WriteString("action", e.Action.ToString());
                json.WriteString("explanation", e.Explanation);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("diagnosis");
            WriteNumberOrNull(json, "period", Diagnosis.Period);
            WriteNumberOrNull(json, "batch_size_exponent", Diagnosis.BatchSizeExponent);
            json.WriteString("summary", Diagnosis.Summary);
            json.WriteEndObject();
            json.WriteString("summary", Summary);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <inheritdoc/>
    public override string ToString() => Summary;

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double v && double.IsFinite(v)) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }
}
