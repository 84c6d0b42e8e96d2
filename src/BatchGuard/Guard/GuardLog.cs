using BatchGuard.Detection;
using Microsoft.Extensions.Logging;

namespace BatchGuard.Guard;

/// <summary>The guard's log messages, one EventId each (51xx), source-generated so a disabled level costs nothing.</summary>
internal static partial class GuardLog
{
    [LoggerMessage(EventId = 5101, EventName = "LossAnomaly", Level = LogLevel.Warning,
        Message = "Step {Step} (epoch {Epoch}, position {Position}, batch size {BatchSize}): loss {Kind}, cause {Cause}; loss {Loss} vs baseline {Baseline}; action {Action}. {Explanation}")]
    public static partial void Anomaly(ILogger logger, long step, int? epoch, int? position, int batchSize,
        AnomalyKind kind, AnomalyCause cause, double? loss, double? baseline, GuardAction action, string explanation);

    [LoggerMessage(EventId = 5102, EventName = "RepairEnabled", Level = LogLevel.Information,
        Message = "Measured loss ∝ b^{Exponent:0.00} over {PartialBatches} partial batches; from step {Step} a partial batch's loss is rescaled by (B/b)^k with B = {NominalBatchSize}.")]
    public static partial void RepairEnabled(ILogger logger, double exponent, int partialBatches, long step, int nominalBatchSize);

    [LoggerMessage(EventId = 5103, EventName = "HandlerFailed", Level = LogLevel.Error,
        Message = "A BatchGuard event handler threw at step {Step}; training continues.")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, long step);

    [LoggerMessage(EventId = 5104, EventName = "GuardFailed", Level = LogLevel.Error,
        Message = "BatchGuard failed while {Activity} at step {Step}; the step is reported as unchecked and training continues.")]
    public static partial void GuardFailed(ILogger logger, Exception exception, string activity, long step);

    [LoggerMessage(EventId = 5105, EventName = "DeviceSkipNotApplied", Level = LogLevel.Information,
        Message = "Step {Step} was flagged after it was applied (device path reads back every {Interval} steps); policy Skip acts only on non-finite steps there.")]
    public static partial void DeviceSkipNotApplied(ILogger logger, long step, int interval);

    [LoggerMessage(EventId = 5106, EventName = "RunSummary", Level = LogLevel.Information, Message = "{Summary}")]
    public static partial void RunSummary(ILogger logger, string summary);
}
