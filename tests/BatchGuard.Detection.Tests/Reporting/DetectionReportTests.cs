using System.Text.Json;
using BatchGuard.Detection;
using BatchGuard.Reporting;

namespace BatchGuard.Tests.Detection.Reporting;

public class DetectionReportTests
{
    private static DetectionReport ReportOf(params double[] losses)
    {
        var detector = new LossAnomalyDetector();
        for (var t = 0; t < losses.Length; t++) detector.Observe(new StepRecord(t, losses[t], 32, 0));
        return DetectionReport.From(detector);
    }

    [Fact]
    public void Json_of_a_live_run_has_no_file_and_writes_non_finite_numbers_as_null()
    {
        var report = ReportOf([.. Enumerable.Repeat(1.0, 40), double.NaN, double.NegativeInfinity]);

        using var json = JsonDocument.Parse(DetectionReportJson.Write(report));

        var root = json.RootElement;
        Assert.False(root.TryGetProperty("file", out _));
        Assert.Equal(42, root.GetProperty("steps").GetInt64());
        var anomalies = root.GetProperty("anomalies");
        Assert.Equal(2, anomalies.GetArrayLength());
        foreach (var a in anomalies.EnumerateArray())
        {
            Assert.Equal(JsonValueKind.Null, a.GetProperty("loss").ValueKind);
            Assert.Equal(JsonValueKind.Null, a.GetProperty("score").ValueKind);
            Assert.Equal("non-finite", a.GetProperty("kind").GetString());
            Assert.Equal("other", a.GetProperty("cause").GetString());
        }
        Assert.Equal("non-finite", root.GetProperty("diagnosis").GetProperty("finding").GetString());
    }

    [Fact]
    public void Json_is_a_single_line_that_keeps_the_summary_readable()
    {
        var text = DetectionReportJson.Write(ReportOf([.. Enumerable.Repeat(1.0, 60)]));

        Assert.DoesNotContain('\n', text);
        Assert.Contains("\"summary\":\"No anomalies in 60 steps: the loss curve looks healthy.\"", text);
    }

    [Fact]
    public void Text_lists_at_most_twenty_anomalies_then_says_how_many_more()
    {
        var report = ReportOf([.. Enumerable.Repeat(double.NaN, 25)]);

        var text = DetectionReportText.Write(report);

        Assert.StartsWith("run: 25 steps, 25 anomalies", text);
        Assert.Equal(20, text.Split('\n').Count(l => l.StartsWith("  step ", StringComparison.Ordinal)));
        Assert.Contains("… and 5 more", text);
        Assert.Contains("diagnosis: 25 steps had a NaN or infinite loss", text);
    }

    [Fact]
    public void Text_lists_one_line_per_event_with_its_after_effects_counted_not_listed()
    {
        var detector = new LossAnomalyDetector();
        var random = new Random(8);
        for (var t = 0; t < 300; t++)
        {
            var kick = t == 200 ? 6.0 : t is > 200 and <= 203 ? 1.5 : 1.0;
            detector.Observe(new StepRecord(t, Math.Exp(0.01 * (random.NextDouble() - 0.5)) * kick, 64));
        }

        var text = DetectionReportText.Write(DetectionReport.From(detector, "log.csv"));

        Assert.Contains("log.csv: 300 steps, 4 anomalies (0 partial-batch, 0 periodic, 4 other)", text);
        var line = Assert.Single(text.Split('\n'), l => l.StartsWith("  step ", StringComparison.Ordinal));
        Assert.StartsWith("  step 200: spike, other, loss ", line);
        Assert.EndsWith("Followed by 3 after-effect step(s).", line.TrimEnd());
        Assert.Contains("diagnosis: 1 one-off anomaly on a full batch, not periodic", text);
    }

    [Fact]
    public void Every_enum_value_has_a_report_name()
    {
        Assert.All(Enum.GetValues<AnomalyKind>(), v => Assert.Matches("^[a-z-]+$", ReportNames.Of(v)));
        Assert.All(Enum.GetValues<AnomalyCause>(), v => Assert.Matches("^[a-z-]+$", ReportNames.Of(v)));
        Assert.All(Enum.GetValues<LookAlike>(), v => Assert.Matches("^[a-z-]+$", ReportNames.Of(v)));
        Assert.All(Enum.GetValues<Finding>(), v => Assert.Matches("^[a-z-]+$", ReportNames.Of(v)));
    }
}
