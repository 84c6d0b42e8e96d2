using BatchGuard.Detection;
using BatchGuard.Guard;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

public sealed class EventTests
{
    [Fact]
    public void An_anomaly_is_logged_as_a_structured_warning_and_raised_as_an_event()
    {
        using var data = new TinyRegression(24);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05);
        var logger = new RecordingLogger();
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, new GuardOptions { StepsPerEpoch = 3, NominalBatchSize = 8 }, logger);
        var events = new List<GuardEvent>();
        guard.AnomalyDetected += (_, e) => events.Add(e);

        for (int i = 0; i < 5; i++)
        {
            using var scope = NewDisposeScope();
            var loss = data.MeanLoss(data.X[TensorIndex.Slice(0, 8)], data.Y[TensorIndex.Slice(0, 8)]);
            guard.Step(i == 4 ? loss * double.NaN : loss, 8);
        }

        var ev = Assert.Single(events);
        Assert.Equal((4L, 1, 1, 8), (ev.Step, ev.Epoch, ev.Position, ev.BatchSize));
        Assert.Equal(AnomalyKind.NonFinite, ev.Kind);
        Assert.True(ev.Action.HasFlag(GuardAction.Skipped));
        var entry = Assert.Single(logger.Entries, e => e.Id.Id == 5101);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal("LossAnomaly", entry.Id.Name);
        Assert.Equal(4L, entry.Values["Step"]);
        Assert.Equal(1, entry.Values["Epoch"]);
        Assert.Equal(AnomalyKind.NonFinite, entry.Values["Kind"]);
    }

    [Fact]
    public void A_throwing_callback_is_logged_and_training_carries_on()
    {
        using var data = new TinyRegression(16);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05);
        var logger = new RecordingLogger();
        var options = new GuardOptions { OnAnomaly = _ => throw new InvalidOperationException("callback bug") };
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer, options, logger);
        guard.AnomalyDetected += (_, _) => throw new InvalidOperationException("handler bug");
        guard.StepCompleted += (_, _) => throw new InvalidOperationException("step handler bug");

        for (int i = 0; i < 3; i++)
        {
            using var scope = NewDisposeScope();
            var loss = data.MeanLoss(data.X, data.Y);
            guard.Step(i == 1 ? loss * double.NaN : loss, 16);
        }

        Assert.Equal(3, guard.Steps);
        var failures = logger.Entries.Where(e => e.Id.Id == 5103).ToList();
        Assert.Equal(5, failures.Count); // 3 step handlers + callback + event handler of the NaN step
        Assert.Contains(failures, f => f.Exception?.Message == "callback bug");
        Assert.Contains(failures, f => f.Exception?.Message == "handler bug");
        Assert.All(data.Weights(), w => Assert.True(float.IsFinite(w)));
    }

    [Fact]
    public void The_report_serialises_to_json_around_the_detectors_shared_report()
    {
        using var data = new TinyRegression(16);
        using var optimizer = optim.SGD(data.Model.parameters(), 0.05);
        using var guard = new TrainingGuard(data.Model.parameters(), optimizer);
        using (NewDisposeScope()) guard.Step(data.MeanLoss(data.X, data.Y) * double.NaN, 16);

        var report = guard.Report();
        using var json = System.Text.Json.JsonDocument.Parse(report.ToJson());

        var detection = json.RootElement.GetProperty("detection");
        Assert.Equal(1, detection.GetProperty("steps").GetInt64());
        var anomaly = Assert.Single(detection.GetProperty("anomalies").EnumerateArray());
        Assert.Equal("non-finite", anomaly.GetProperty("kind").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, anomaly.GetProperty("loss").ValueKind);
        Assert.True(detection.GetProperty("diagnosis").TryGetProperty("batch_size_exponent", out _));
        Assert.Equal(1, json.RootElement.GetProperty("guard").GetProperty("skipped_steps").GetInt64());
        Assert.Equal(report.Summary, json.RootElement.GetProperty("summary").GetString());
        Assert.Contains("1 skipped (1 non-finite)", report.Summary);
    }
}
