using System.Globalization;
using BatchGuard.Detection;

namespace BatchGuard.Reporting;

/// <summary>Writes a <see cref="DetectionReport"/> for a person: a headline, the anomalies (the first ones), the diagnosis.</summary>
public static class DetectionReportText
{
    /// <summary>Events (anomalies other than after-effects) listed before "… and N more events".</summary>
    public const int AnomaliesListed = 20;

    /// <summary>The report as text (several lines, ending with a newline).</summary>
    public static string Write(DetectionReport report)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Write(writer, report);
        return writer.ToString();
    }

    /// <summary>Writes the report as text to <paramref name="writer"/>.</summary>
    public static void Write(TextWriter writer, DetectionReport report)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(report);
        var d = report.Diagnosis;
        var title = report.Source ?? "run";
        writer.WriteLine(Invariant($"{title}: {report.Steps} steps, {d.AnomalyCount} anomalies ({d.PartialBatchAnomalies} partial-batch, {d.PeriodicAnomalies} periodic, {d.OtherAnomalies} other)"));
        // One line per event: a spike's momentum after-effects are counted on its line, not listed.
        var afterEffects = report.Anomalies.Where(a => a.AfterEffectOf is not null).GroupBy(a => a.AfterEffectOf!.Value)
            .ToDictionary(g => g.Key, g => g.Count());
        var events = report.Anomalies.Where(a => a.AfterEffectOf is null).ToList();
        foreach (var a in events.Take(AnomaliesListed))
        {
            var where = a.Epoch is { } e ? Invariant($", epoch {e}") : "";
            if (a.Position is { } p) where += Invariant($", position {p}");
            if (a.BatchSize is { } b) where += Invariant($", batch {b}");
            var loss = a.Loss is { } l ? Invariant($", loss {l:G4}") : "";
            var baseline = a.Baseline is { } bl ? Invariant($" (baseline {bl:G4})") : "";
            var followed = afterEffects.TryGetValue(a.Step, out var n) ? Invariant($" Followed by {n} after-effect step(s).") : "";
            writer.WriteLine(Invariant($"  step {a.Step}: {ReportNames.Of(a.Kind)}, {ReportNames.Of(a.Cause)}{loss}{baseline}{where}. {a.Explanation}{followed}"));
        }
        if (events.Count > AnomaliesListed)
            writer.WriteLine(Invariant($"  … and {events.Count - AnomaliesListed} more events"));
        if (d.AnomalyCount > report.Anomalies.Count && report.Anomalies.Count > 0)
            writer.WriteLine(Invariant($"  (only the latest {report.Anomalies.Count} of {d.AnomalyCount} anomalies are kept: the list starts at step {report.Anomalies[0].Step})"));
        var facts = new List<string>();
        if (d.Period is { } period) facts.Add(Invariant($"period {period} steps"));
        if (d.NominalBatchSize is { } nominal) facts.Add(Invariant($"nominal batch {nominal}"));
        if (d.BatchSizeExponent is { } k)
            facts.Add(Invariant($"k = {k:0.00}") + (d.BatchSizeExponentError is { } se && double.IsFinite(se) ? Invariant($" ± {se:0.00}") : ""));
        if (facts.Count > 0) writer.WriteLine($"  {string.Join("; ", facts)}");
        writer.WriteLine($"  diagnosis: {d.Summary}");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
