using System.Text.Json;
using BatchGuard.Detection;
using BatchGuard.Reporting;

namespace BatchGuard.Tests.Detection.Reporting;

public class TruncatedReportTests
{
    [Fact]
    public void A_report_whose_anomaly_list_was_capped_says_so_and_gives_the_total()
    {
        var detector = new LossAnomalyDetector(new DetectorOptions { MaxAnomaliesKept = 5 });
        for (var t = 0; t < 20; t++) detector.Observe(new StepRecord(t, double.NaN));

        using var json = JsonDocument.Parse(DetectionReportJson.Write(DetectionReport.From(detector, "run.csv")));
        var text = DetectionReportText.Write(DetectionReport.From(detector, "run.csv"));

        Assert.Equal(5, json.RootElement.GetProperty("anomalies").GetArrayLength());
        Assert.Equal(20, json.RootElement.GetProperty("anomalies_total").GetInt64());
        Assert.True(json.RootElement.GetProperty("anomalies_truncated").GetBoolean());
        Assert.Contains("only the latest 5 of 20 anomalies are kept: the list starts at step 15", text);
    }

    [Fact]
    public void A_complete_report_is_not_marked_truncated()
    {
        var detector = new LossAnomalyDetector();
        for (var t = 0; t < 3; t++) detector.Observe(new StepRecord(t, double.NaN));

        using var json = JsonDocument.Parse(DetectionReportJson.Write(DetectionReport.From(detector)));

        Assert.Equal(3, json.RootElement.GetProperty("anomalies_total").GetInt64());
        Assert.False(json.RootElement.GetProperty("anomalies_truncated").GetBoolean());
    }
}
