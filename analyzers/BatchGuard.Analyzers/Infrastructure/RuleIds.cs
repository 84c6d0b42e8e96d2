namespace BatchGuard.Analyzers;

/// <summary>Every BatchGuard diagnostic ID, defined once. Rule pages live at docs/rules/&lt;id&gt;.md.</summary>
internal static class RuleIds
{
    public const string PartialBatchFeedsBatchDependentLoss = "BG0001";
    public const string TrainingLoaderKeepsPartialBatch = "BG0002";
    public const string SumDividedByNominalBatchSize = "BG0003";
    public const string LossNormalizedTwice = "BG0004";
    public const string DivisionByCountThatCanBeZero = "BG0005";
    public const string MisplacedGradientClipping = "BG0006";
    public const string StatefulOptimizerWithoutClipping = "BG0007";
    public const string DropLastIgnoredByOldTorchSharp = "BG0008";
    public const string SeededShuffleNeverReshuffles = "BG0009";
    public const string PositionalArgumentBindsDifferently = "BG0010";
}
