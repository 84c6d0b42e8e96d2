namespace BatchGuard.Detection;

/// <summary>
/// Finds the period of recurring anomalies when the log says nothing about epochs: among the gaps between recent
/// anomalies, the one that lines up the most of them (same phase), provided far more line up than chance would (each
/// does with probability about 1/gap). Keeps the last <see cref="Capacity"/> anomaly steps: bounded memory, O(Capacity²) per anomaly (anomalies
/// are rare), nothing per healthy step.
/// </summary>
internal sealed class PeriodFinder
{
    public const int Capacity = 64;

    /// <summary>Anomalies that must line up (including the newest) before a period is believed.</summary>
    public const int MinAligned = 4;

    private readonly long[] _steps = new long[Capacity];
    private int _count, _next;

    public long? Period { get; private set; }

    /// <summary>The step of the latest anomaly that lined up with the period.</summary>
    public long? Phase { get; private set; }

    /// <summary>Number of recent anomalies that line up with <see cref="Period"/>.</summary>
    public int Support { get; private set; }

    public bool IsOnPeriod(long step) => Period is { } p && Phase is { } phase && Mod(step - phase, p) == 0;

    /// <summary>Records an anomaly; returns true when the period changed.</summary>
    /// <param name="step">The anomaly's step.</param>
    /// <param name="knownPeriod">The epoch length when known: then it is the only candidate.</param>
    public bool Add(long step, long? knownPeriod = null)
    {
        _steps[_next] = step;
        _next = (_next + 1) % Capacity;
        if (_count < Capacity) _count++;

        if (IsOnPeriod(step)) { Phase = step; Support = Math.Min(Support + 1, Capacity); return false; }

        long bestPeriod = 0;
        var bestSupport = 0;
        var bestCoverage = 0.0;
        for (var i = 0; i < (knownPeriod is null ? _count : 1); i++)
        {
            var gap = knownPeriod ?? step - _steps[i];
            if (gap < 2) continue;
            var (aligned, earliest) = Aligned(step, gap);
            if (aligned < MinAligned) continue;
            // Beyond the two anomalies that define the gap, each other one lines up by chance with probability
            // about 1/gap: demand well more than chance. Among equally supported periods, the best covered wins:
            // P, not P/2 (which lines up the same anomalies).
            var byChance = (_count - 2) / (double)gap;
            if (aligned - 2 < 2 + 4 * byChance) continue;
            var coverage = aligned / (double)((step - earliest) / gap + 1);
            if (aligned > bestSupport || (aligned == bestSupport && coverage > bestCoverage))
            {
                bestSupport = aligned;
                bestPeriod = gap;
                bestCoverage = coverage;
            }
        }
        if (bestSupport == 0 || (Period is not null && bestSupport <= Support)) return false;
        var changed = Period != bestPeriod;
        Period = bestPeriod;
        Phase = step;
        Support = bestSupport;
        return changed;
    }

    private (int Aligned, long Earliest) Aligned(long step, long period)
    {
        var aligned = 0;
        var earliest = step;
        for (var i = 0; i < _count; i++)
        {
            var gap = step - _steps[i];
            if (gap < 0 || gap % period != 0) continue;
            aligned++;
            earliest = Math.Min(earliest, _steps[i]);
        }
        return (aligned, earliest);
    }

    private static long Mod(long a, long m) => ((a % m) + m) % m;
}
