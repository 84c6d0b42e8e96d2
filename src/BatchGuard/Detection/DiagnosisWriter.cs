using System.Globalization;
using System.Text;

namespace BatchGuard.Detection;

/// <summary>The counts and estimates a diagnosis is written from.</summary>
internal readonly record struct DiagnosisFacts(
    long Steps,
    int? StepsPerEpoch,
    int? AnomalyPeriod,
    int AnomalyPeriodSupport,
    int? PeriodicPosition,
    int? NominalBatchSize,
    double? Exponent,
    double? ExponentError,
    long PartialBatches,
    long Anomalies,
    long PartialBatchAnomalies,
    long AfterEffects,
    long PeriodicAnomalies,
    long OtherAnomalies,
    long PartialBatchEvents,
    long PeriodicEvents,
    long OtherEvents,
    long NonFinite,
    long NonPositive,
    int LearningRateDrops,
    int SawtoothDrops,
    bool DropLast);

/// <summary>
/// Turns the detector's evidence into the verdict and the one paragraph a user reads: what is wrong first, then the
/// line of the setup to change, then the benign look-alikes that were recognised and ignored.
/// </summary>
internal static class DiagnosisWriter
{
    /// <summary>Fewer steps than this and nothing found: too early to call the run healthy.</summary>
    private const int MinStepsForVerdict = 50;

    /// <summary>|k − target| within this counts as "≈ target" (−1 or +1).</summary>
    private const double ExponentTolerance = 0.35;

    public static Diagnosis Write(in DiagnosisFacts f)
    {
        var text = new StringBuilder();
        var finding = Finding.Healthy;
        var period = f.StepsPerEpoch ?? f.AnomalyPeriod;
        var fix = f.DropLast
            ? "make the loss independent of the batch size"
            : "set drop_last: true on the DataLoader, or make the loss independent of the batch size";

        if (f.Exponent is { } k && f.ExponentError is { } error)
        {
            var ks = Format(k);
            var dependent = Math.Abs(k) >= 0.2 && Math.Abs(k) >= 3 * error;
            if (!dependent)
                Append(text, $"Partial batches ({f.PartialBatches} seen) behave like full ones (k≈{ks} ± {Format(error)}): the loss does not depend on the batch size.");
            else if (Math.Abs(k + 1) <= ExponentTolerance)
            {
                finding = Finding.DoubleNormalisation;
                Append(text, $"loss ∝ 1/b (k≈{ks}): the loss is normalised twice (a mean divided again by the batch size, or by a constant batch size), so every short last batch inflates the loss and its gradient. " +
                    (f.DropLast ? "Remove the division by the batch size." : "Set drop_last: true or remove the division by the batch size."));
            }
            else if (Math.Abs(k - 1) <= ExponentTolerance)
            {
                finding = Finding.SumOverBatch;
                Append(text, $"loss ∝ b (k≈{ks}): the loss is summed over the batch (reduction: sum), so every short last batch shrinks the loss and its gradient. " +
                    (f.DropLast ? "Use reduction: mean." : "Use reduction: mean, or set drop_last: true."));
            }
            else
            {
                finding = Finding.BatchSizeDependent;
                Append(text, $"loss ∝ b^{ks}: the loss depends on the batch size, so every short last batch distorts the loss and its gradient; {fix}.");
            }
            if (finding != Finding.Healthy)
            {
                Append(text, $"{Count(f.PartialBatchEvents, "partial-batch anomaly", "partial-batch anomalies")}" +
                    (period is { } p ? $" (epochs of {p} steps" + (f.NominalBatchSize is { } b ? $", nominal batch {b})" : ")") : "") +
                    (f.AfterEffects > 0 ? $", followed by {Count(f.AfterEffects, "step", "steps")} of momentum after-effects: gradient clipping limits those" : "") + ".");
            }
        }
        else if (f.PeriodicAnomalies > 0 && f.AnomalyPeriod is { } found)
        {
            finding = Finding.PeriodicAnomalies;
            Append(text, $"The loss jumps every {found} steps ({f.PeriodicEvents} times at the same phase" +
                (f.PeriodicPosition is { } pos ? $", position {pos} of the epoch" : "") +
                "): the signature of a short last batch meeting a loss that depends on the batch size. " +
                $"Log the batch size (a batch_size column) to confirm; {fix}.");
        }
        else if (f.PartialBatchAnomalies > 0)
        {
            finding = Finding.BatchSizeDependent;
            Append(text, $"{f.PartialBatchEvents} anomalies on partial batches, too few to estimate how the loss scales with the batch size; {fix}.");
        }

        if (f.OtherAnomalies > 0)
        {
            if (finding == Finding.Healthy) finding = Finding.OneOffAnomalies;
            Append(text, $"{Count(f.OtherEvents, "one-off anomaly on a full batch", "one-off anomalies on full batches")}, not periodic: bad data or an instability, not the batch size; gradient clipping limits their damage.");
        }
        if (f.NonFinite > 0)
        {
            if (finding is Finding.Healthy or Finding.OneOffAnomalies) finding = Finding.NonFinite;
            Append(text, $"{Count(f.NonFinite, "step", "steps")} had a NaN or infinite loss or gradient norm: skip those steps (the guard does) and look for an overflow or a division by zero" +
                (f.PartialBatches > 0 ? " — an empty last batch divides by zero" : "") + ".");
        }
        if (f.LearningRateDrops > 0 || f.SawtoothDrops > 0)
        {
            var parts = new List<string>();
            if (f.LearningRateDrops > 0) parts.Add($"{f.LearningRateDrops} learning-rate drop(s)");
            if (f.SawtoothDrops > 0) parts.Add($"{f.SawtoothDrops} epoch-start drops of Adam's sawtooth");
            Append(text, $"Recognised and ignored as benign: {string.Join(" and ", parts)}.");
        }
        if (f.NonPositive > 0)
            Append(text, $"{Count(f.NonPositive, "step", "steps")} had a loss ≤ 0 and were not judged (the detector models the loss on a log scale).");

        if (finding == Finding.Healthy && f.Anomalies == 0 && (f.Exponent is null))
        {
            if (f.Steps < MinStepsForVerdict)
            {
                finding = Finding.NotEnoughData;
                text.Insert(0, $"Only {f.Steps} steps: too few to judge. ");
            }
            else
                text.Insert(0, $"No anomalies in {f.Steps} steps: the loss curve looks healthy. ");
        }
        return new Diagnosis(period, f.Exponent, text.ToString().Trim())
        {
            Finding = finding,
            BatchSizeExponentError = f.ExponentError,
            NominalBatchSize = f.NominalBatchSize,
            PeriodicPosition = f.PeriodicPosition,
            StepsObserved = f.Steps,
            PartialBatchesSeen = f.PartialBatches,
            AnomalyCount = f.Anomalies,
            PartialBatchAnomalies = f.PartialBatchAnomalies,
            AfterEffectAnomalies = f.AfterEffects,
            PeriodicAnomalies = f.PeriodicAnomalies,
            OtherAnomalies = f.OtherAnomalies,
            NonFiniteSteps = f.NonFinite,
            NonPositiveLossSteps = f.NonPositive,
        };
    }

    private static void Append(StringBuilder text, string sentence)
    {
        if (text.Length > 0) text.Append(' ');
        text.Append(sentence);
    }

    private static string Count(long n, string one, string many) => n == 1 ? $"1 {one}" : $"{n} {many}";

    private static string Format(double value) => value.ToString("+0.0#;−0.0#;0.0", CultureInfo.InvariantCulture);
}
