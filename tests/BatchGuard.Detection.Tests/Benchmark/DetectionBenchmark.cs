using System.Globalization;
using System.Text;
using BatchGuard.Detection;

namespace BatchGuard.Tests.Detection.Benchmark;

/// <summary>One detector's figures over a set of curves.</summary>
public sealed class DetectorScore(string detector)
{
    public string Detector { get; } = detector;
    public int Events { get; private set; }
    public int Detected { get; private set; }
    public int FalseAlarms { get; private set; }
    public long HealthySteps { get; private set; }
    public int PartialBatchDetected { get; private set; }
    public int PartialBatchAttributed { get; private set; }
    public int OneOffDetected { get; private set; }
    public int OneOffMisattributed { get; private set; }

    public double Precision => Detected + FalseAlarms == 0 ? 1 : (double)Detected / (Detected + FalseAlarms);
    public double Recall => Events == 0 ? 1 : (double)Detected / Events;
    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
    public double FalseAlarmsPer10k => HealthySteps == 0 ? 0 : FalseAlarms * 10_000.0 / HealthySteps;
    public double? Attribution => PartialBatchDetected == 0 ? null : (double)PartialBatchAttributed / PartialBatchDetected;

    /// <summary>
    /// Scores one curve. An event counts as detected when an alarm falls in its window (the step and its
    /// after-effects); further alarms in the window are neither hits nor false alarms. An alarm outside every window
    /// is a false alarm. Alarms carry the cause a detector gave them (null: it gives none).
    /// </summary>
    public void Add(LabelledCurve curve, IReadOnlyList<(long Step, AnomalyCause? Cause)> alarms)
    {
        Events += curve.Events.Length;
        var eventSteps = curve.Events.Sum(e => e.End - e.Step + 1);
        HealthySteps += curve.Steps.Length - eventSteps;
        var inWindow = new List<(long Step, AnomalyCause? Cause)>[curve.Events.Length];
        foreach (var alarm in alarms)
        {
            var e = Array.FindIndex(curve.Events, x => x.Step <= alarm.Step && alarm.Step <= x.End);
            if (e < 0) FalseAlarms++;
            else (inWindow[e] ??= []).Add(alarm);
        }
        for (var i = 0; i < curve.Events.Length; i++)
        {
            if (inWindow[i] is not { } hits) continue;
            Detected++;
            var labelled = curve.Events[i].Kind;
            if (labelled == EventKind.PartialBatch)
            {
                PartialBatchDetected++;
                // Right: every alarm of the episode (after-effects included) is put on the partial batch; without a
                // batch_size column, "periodic" is the best a log allows.
                if (hits.All(h => h.Cause == AnomalyCause.PartialBatch || (!curve.HasBatchSizes && h.Cause == AnomalyCause.Periodic)))
                    PartialBatchAttributed++;
            }
            else if (labelled == EventKind.OneOffSpike)
            {
                OneOffDetected++;
                if (hits.Any(h => h.Cause is AnomalyCause.PartialBatch or AnomalyCause.Periodic)) OneOffMisattributed++;
            }
        }
    }
}

/// <summary>Figures for every detector, overall and per curve family.</summary>
public sealed record BenchmarkResult(
    int CurvesPerFamily, int StepsPerCurve, int Seed, long TotalSteps,
    IReadOnlyList<DetectorScore> Overall, IReadOnlyDictionary<CurveFamily, IReadOnlyList<DetectorScore>> ByFamily,
    IReadOnlyList<DetectorScore> GaussianNoise, IReadOnlyList<DetectorScore> HeavyTailedNoise,
    int LevelShifts, int LevelShiftsNamedCorrectly);

/// <summary>
/// The labelled benchmark: BatchGuard's detector and the four rules people use today, on the same synthetic curves.
/// </summary>
public static class DetectionBenchmark
{
    public const string BatchGuardFinal = "BatchGuard (final report)";
    public const string BatchGuardOnline = "BatchGuard (online verdicts only)";

    private static readonly Func<ICompetitor>[] Competitors =
    [
        () => new LightningSpikeDetection(),
        () => new OlmoSkipStep(),
        () => new ZClipZScore(),
        () => new WandbThreeSigma(),
    ];

    public static BenchmarkResult Run(int curvesPerFamily, int stepsPerCurve, int seed)
    {
        var names = new[] { BatchGuardFinal, BatchGuardOnline }.Concat(Competitors.Select(c => c().Name)).ToArray();
        var overall = names.Select(n => new DetectorScore(n)).ToArray();
        var byFamily = new Dictionary<CurveFamily, IReadOnlyList<DetectorScore>>();
        var gaussian = names.Select(n => new DetectorScore(n)).ToArray();
        var heavyTailed = names.Select(n => new DetectorScore(n)).ToArray();
        long totalSteps = 0;
        int levelShifts = 0, levelShiftsNamed = 0;
        foreach (var family in Enum.GetValues<CurveFamily>())
        {
            var familyScores = names.Select(n => new DetectorScore(n)).ToArray();
            byFamily[family] = familyScores;
            for (var i = 0; i < curvesPerFamily; i++)
            {
                var curve = CurveGenerator.Generate(family, i, stepsPerCurve, seed);
                totalSteps += curve.Steps.Length;

                var detector = new LossAnomalyDetector();
                var online = new List<(long, AnomalyCause?)>();
                foreach (var step in curve.Steps)
                    if (detector.Observe(step) is { } verdict) online.Add((verdict.Step, verdict.Cause));
                var final = detector.Anomalies.Select(a => (a.Step, (AnomalyCause?)a.Cause)).ToList();
                var alarms = new List<IReadOnlyList<(long, AnomalyCause?)>> { final, online };

                foreach (var make in Competitors)
                {
                    var competitor = make();
                    var flagged = new List<(long, AnomalyCause?)>();
                    foreach (var step in curve.Steps)
                        if (competitor.Observe(step.Loss)) flagged.Add((step.Step, null));
                    alarms.Add(flagged);
                }
                for (var d = 0; d < names.Length; d++)
                {
                    overall[d].Add(curve, alarms[d]);
                    familyScores[d].Add(curve, alarms[d]);
                    (curve.HeavyTailed ? heavyTailed : gaussian)[d].Add(curve, alarms[d]);
                }

                if (family is CurveFamily.AdamSawtooth or CurveFamily.LearningRateDrops)
                {
                    var expected = family == CurveFamily.AdamSawtooth ? LookAlike.AdamSawtooth : LookAlike.LearningRateDrop;
                    var shifts = detector.Diagnose().LevelShifts;
                    levelShifts += shifts.Count;
                    levelShiftsNamed += shifts.Count(s => s.LookAlike == expected);
                }
            }
        }
        return new BenchmarkResult(curvesPerFamily, stepsPerCurve, seed, totalSteps, overall, byFamily, gaussian, heavyTailed, levelShifts, levelShiftsNamed);
    }

    public static string ToMarkdown(BenchmarkResult result)
    {
        var text = new StringBuilder();
        var families = result.ByFamily.Count;
        text.AppendLine(Invariant($"{families} families × {result.CurvesPerFamily} curves × {result.StepsPerCurve} steps = {result.TotalSteps:N0} steps, seed {result.Seed}."));
        text.AppendLine();
        text.AppendLine("| detector | precision | recall | F1 | false alarms / 10k healthy steps | partial-batch attribution | one-off spikes blamed on the batch |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var s in result.Overall)
        {
            var attribution = s.Attribution is { } a ? Invariant($"{a:P1} ({s.PartialBatchAttributed}/{s.PartialBatchDetected})") : "—";
            var blamed = s.Detector.StartsWith("BatchGuard", StringComparison.Ordinal) ? Invariant($"{s.OneOffMisattributed}/{s.OneOffDetected}") : "—";
            text.AppendLine(Invariant($"| {s.Detector} | {s.Precision:F3} | {s.Recall:F3} | **{s.F1:F3}** | {s.FalseAlarmsPer10k:F2} ({s.FalseAlarms}) | {attribution} | {blamed} |"));
        }
        text.AppendLine();
        text.AppendLine(Invariant($"Level shifts BatchGuard found on the look-alike curves and named correctly (Adam sawtooth vs learning-rate drop): {result.LevelShiftsNamedCorrectly}/{result.LevelShifts}."));
        text.AppendLine();
        text.AppendLine("By noise shape (Gaussian, and Student's t with 5 degrees of freedom on every third curve):");
        text.AppendLine();
        text.AppendLine("| detector | F1, Gaussian | false alarms / 10k, Gaussian | F1, heavy-tailed | false alarms / 10k, heavy-tailed |");
        text.AppendLine("|---|---:|---:|---:|---:|");
        for (var d = 0; d < result.Overall.Count; d++)
        {
            var g = result.GaussianNoise[d];
            var h = result.HeavyTailedNoise[d];
            text.AppendLine(Invariant($"| {g.Detector} | {g.F1:F3} | {g.FalseAlarmsPer10k:F2} | {h.F1:F3} | {h.FalseAlarmsPer10k:F2} |"));
        }
        text.AppendLine();
        text.AppendLine("F1 per family (families without events show false alarms / 10k healthy steps instead):");
        text.AppendLine();
        text.Append("| family |");
        foreach (var s in result.Overall) text.Append(' ').Append(Short(s.Detector)).Append(" |");
        text.AppendLine();
        text.Append("|---|");
        foreach (var _ in result.Overall) text.Append("---:|");
        text.AppendLine();
        foreach (var (family, scores) in result.ByFamily)
        {
            text.Append("| ").Append(family).Append(" |");
            foreach (var s in scores)
                text.Append(s.Events > 0 ? Invariant($" {s.F1:F3} |") : Invariant($" {s.FalseAlarmsPer10k:F1} FA |"));
            text.AppendLine();
        }
        return text.ToString();
    }

    /// <summary>Prints BatchGuard's misses, false alarms and misattributions, curve by curve (for tuning).</summary>
    public static void Explain(int curvesPerFamily, int stepsPerCurve, int seed, TextWriter output)
    {
        foreach (var family in Enum.GetValues<CurveFamily>())
            for (var i = 0; i < curvesPerFamily; i++)
            {
                var curve = CurveGenerator.Generate(family, i, stepsPerCurve, seed);
                var detector = new LossAnomalyDetector();
                var factors = new List<double>();
                foreach (var step in curve.Steps)
                {
                    detector.Observe(step);
                    if (step.Step % 500 == 0) factors.Add(detector.TailFactor);
                }
                output.WriteLine($"TAILS {curve.Name}: {string.Join(" ", factors.Select(f => f.ToString("F2", CultureInfo.InvariantCulture)))} {detector.TailCounts}");
                var anomalies = detector.Anomalies;
                foreach (var e in curve.Events)
                {
                    var hits = anomalies.Where(a => e.Step <= a.Step && a.Step <= e.End).ToList();
                    if (hits.Count == 0) output.WriteLine($"MISS  {curve.Name}: {e.Kind} at {e.Step}");
                    else if (e.Kind == EventKind.OneOffSpike && hits.Any(h => h.Cause != AnomalyCause.Other))
                        foreach (var h in hits) output.WriteLine($"BLAME {curve.Name}: event {e.Step}: {h.Step} {h.Kind} {h.Cause} z={h.Score:F1} {h.Explanation}");
                    else if (e.Kind == EventKind.PartialBatch && !hits.All(h => h.Cause == AnomalyCause.PartialBatch || (!curve.HasBatchSizes && h.Cause == AnomalyCause.Periodic)))
                        foreach (var h in hits) output.WriteLine($"ATTR  {curve.Name}: event {e.Step}: {h.Step} {h.Kind} {h.Cause} z={h.Score:F1} {h.Explanation}");
                }
                foreach (var a in anomalies.Where(a => !curve.Events.Any(e => e.Step <= a.Step && a.Step <= e.End)))
                    output.WriteLine($"FALSE {curve.Name}: {a.Step} {a.Kind} {a.Cause} z={a.Score:F1} {a.Explanation}");
            }
    }

    private static string Short(string detector) => detector switch
    {
        BatchGuardFinal => "BatchGuard",
        BatchGuardOnline => "BatchGuard online",
        _ => detector[..detector.IndexOf(' ')],
    };

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
