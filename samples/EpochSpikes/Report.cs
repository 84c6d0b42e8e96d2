using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EpochSpikes;

/// <summary>The table on the console, and results.json, the loss logs and the chart on disk.</summary>
internal static class Report
{
    public static void Print(IReadOnlyList<RunResult> runs, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"{"configuration",-50} {"spike ratio",11} {"final loss",10} {"skipped",8} {"rescaled",9}");
        foreach (var run in runs)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{run.Name + " (" + run.Title + ")",-50} {SpikeMetrics.EpochBoundarySpikeRatio(run.Steps),11:F2} {run.FinalLoss,10:F4} {run.Skipped,8} {run.Rescaled,9}"));
        }
        foreach (var run in runs.Where(r => r.Diagnosis is not null))
        {
            output.WriteLine();
            output.WriteLine($"BatchGuard's diagnosis of '{run.Name}':");
            output.WriteLine("  " + run.Diagnosis);
        }
    }

    public static void Write(IReadOnlyList<RunResult> runs, string directory)
    {
        var configurations = new JsonArray();
        foreach (var run in runs)
        {
            configurations.Add(new JsonObject
            {
                ["name"] = run.Name,
                ["spike_ratio"] = Round(SpikeMetrics.EpochBoundarySpikeRatio(run.Steps)),
                ["final_loss"] = Round(run.FinalLoss),
                ["skipped"] = run.Skipped,
                ["rescaled"] = run.Rescaled,
                ["anomalies"] = run.AnomalySteps.Count,
                ["diagnosis"] = run.Diagnosis,
                ["log"] = run.Name + ".csv",
            });
            WriteLog(run, Path.Combine(directory, run.Name + ".csv"));
        }
        var root = new JsonObject { ["configurations"] = configurations };
        File.WriteAllText(Path.Combine(directory, "results.json"), root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        File.WriteAllText(Path.Combine(directory, "loss-curves.svg"), SvgChart.Render(runs));
    }

    private static void WriteLog(RunResult run, string path)
    {
        var csv = new StringBuilder("step,epoch,batch_size,loss,grad_norm,loss_scale\n");
        foreach (var s in run.Steps)
            csv.Append(string.Create(CultureInfo.InvariantCulture, $"{s.Step},{s.Epoch},{s.BatchSize},{s.Loss:R},{s.GradNorm:R},{s.LossScale:R}\n"));
        File.WriteAllText(path, csv.ToString());
    }

    private static double? Round(double value) => double.IsFinite(value) ? Math.Round(value, 6) : null;
}
