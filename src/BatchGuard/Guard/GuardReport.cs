using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BatchGuard.Detection;
using BatchGuard.Reporting;

namespace BatchGuard.Guard;

/// <summary>
/// The end-of-run report of a <see cref="TrainingGuard"/>: the detector's report (the same one <c>batchguard analyze</c>
/// prints) plus what the guard did about it.
/// </summary>
/// <param name="Detection">Anomalies and diagnosis, as the detector sees the run.</param>
/// <param name="AnomalousSteps">Steps reported as anomalous (non-finite included).</param>
/// <param name="SkippedSteps">Steps whose optimizer step was not applied.</param>
/// <param name="NonFiniteSteps">Steps with a non-finite loss or gradient norm (all of them skipped).</param>
/// <param name="ClippedSteps">Steps whose gradients were scaled down.</param>
/// <param name="RepairedSteps">Partial batches whose loss was rescaled by (B/b)^k.</param>
/// <param name="RepairExponent">The measured k the repair used, if it was enabled.</param>
/// <param name="Events">The reported anomalies with the guard's action (the first 10,000).</param>
public sealed record GuardReport(
    DetectionReport Detection, long AnomalousSteps, long SkippedSteps, long NonFiniteSteps, long ClippedSteps,
    long RepairedSteps, double? RepairExponent, IReadOnlyList<GuardEvent> Events)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Steps the guard watched.</summary>
    public long Steps => Detection.Steps;

    /// <summary>The detector's diagnosis.</summary>
    public Diagnosis Diagnosis => Detection.Diagnosis;

    /// <summary>One paragraph: what is wrong and which line to change (the diagnosis), then what the guard did.</summary>
    public string Summary
    {
        get
        {
            var text = new StringBuilder(Diagnosis.Summary.TrimEnd());
            if (text.Length > 0 && text[^1] != '.') text.Append('.');
            if (text.Length > 0) text.Append(' ');
            text.Append(CultureInfo.InvariantCulture, $"The guard watched {Steps} steps: {AnomalousSteps} anomalous, {SkippedSteps} skipped ({NonFiniteSteps} non-finite), {ClippedSteps} clipped, {RepairedSteps} repaired");
            if (RepairExponent is double k) text.Append(CultureInfo.InvariantCulture, $" by (B/b)^k with the measured k = {k:0.00}");
            return text.Append('.').ToString();
        }
    }

    /// <summary>
    /// One JSON object: <c>{"detection": {...as batchguard analyze...}, "guard": {"skipped_steps", ..., "actions": [...]}, "summary"}</c>.
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WritePropertyName("detection");
            DetectionReportJson.Write(json, Detection);
            json.WriteStartObject("guard");
            json.WriteNumber("anomalous_steps", AnomalousSteps);
            json.WriteNumber("skipped_steps", SkippedSteps);
            json.WriteNumber("non_finite_steps", NonFiniteSteps);
            json.WriteNumber("clipped_steps", ClippedSteps);
            json.WriteNumber("repaired_steps", RepairedSteps);
            if (RepairExponent is double k) json.WriteNumber("repair_exponent", k);
            else json.WriteNull("repair_exponent");
            json.WriteStartArray("actions");
            foreach (var e in Events)
            {
                json.WriteStartObject();
                json.WriteNumber("step", e.Step);
                json.WriteString("kind", ReportNames.Of(e.Kind));
                json.WriteString("cause", ReportNames.Of(e.Cause));
                json.WriteString("action", e.Action.ToString());
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteString("summary", Summary);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The detector's text report followed by the guard's paragraph.</summary>
    public string ToText() => DetectionReportText.Write(Detection).TrimEnd() + Environment.NewLine + Environment.NewLine + Summary + Environment.NewLine;

    /// <inheritdoc/>
    public override string ToString() => Summary;
}
