using Microsoft.CodeAnalysis;

namespace BatchGuard.Analyzers;

/// <summary>
/// The one registry of BatchGuard's diagnostic descriptors. Analyzers reference these fields; nothing else creates a
/// <see cref="DiagnosticDescriptor"/>. Severity follows confidence: only rules with essentially no false positives are
/// warnings; advice is Info.
/// </summary>
internal static class Descriptors
{
    private const string HelpLinkBase = "https://github.com/batchguard/batchguard/blob/main/docs/rules/";

    internal static class Categories
    {
        public const string Batching = "BatchGuard.Batching";
        public const string LossScaling = "BatchGuard.LossScaling";
        public const string Optimization = "BatchGuard.Optimization";
        public const string DataOrder = "BatchGuard.DataOrder";
    }

    private static DiagnosticDescriptor Rule(string id, string title, string message, string category,
        DiagnosticSeverity severity, string description, params string[] customTags) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, description: description,
            helpLinkUri: HelpLinkBase + id + ".md", customTags: customTags);

    /// <summary>Rules that follow values across the whole compilation report when it ends (build, full-solution analysis).</summary>
    private const string CompilationEnd = WellKnownDiagnosticTags.CompilationEnd;

    // ---- BG0001-BG0005, BG0008: partial final batches and batch-size-dependent loss normalisation ----

    public static readonly DiagnosticDescriptor BG0001_PartialBatchFeedsBatchDependentLoss = Rule(
        RuleIds.PartialBatchFeedsBatchDependentLoss,
        "DataLoader yields a short final batch into a loss whose scale depends on the batch size",
        "DataLoader '{0}' can yield a short final batch ({1}) and its batches reach a loss whose magnitude depends on the batch size ({2}); the loss will spike once per epoch: pass drop_last: true or make the loss independent of the batch size",
        Categories.Batching, DiagnosticSeverity.Warning,
        "A DataLoader without drop_last whose dataset size is not a multiple of the batch size yields one short batch per epoch. When that batch meets a loss whose magnitude depends on the batch size (BG0003/BG0004), the loss and its gradient jump once per epoch.");

    public static readonly DiagnosticDescriptor BG0002_TrainingLoaderKeepsPartialBatch = Rule(
        RuleIds.TrainingLoaderKeepsPartialBatch,
        "Training DataLoader can yield a short final batch",
        "Training DataLoader '{0}' can yield a short final batch ({1}); consider drop_last: true, or pass drop_last: false to state that this is deliberate",
        Categories.Batching, DiagnosticSeverity.Info,
        "A training loader whose dataset size is not a multiple of the batch size yields one short batch per epoch. With a batch-size-independent loss this is harmless but noisier; with BatchNorm or a batch-dependent loss it shows as a spike per epoch.", CompilationEnd);

    public static readonly DiagnosticDescriptor BG0003_SumDividedByNominalBatchSize = Rule(
        RuleIds.SumDividedByNominalBatchSize,
        "Sum over the batch divided by the nominal batch size",
        "'{0}' sums over the batch but is divided by the nominal batch size '{1}'; the short final batch is under-weighted: divide by the actual batch size ({2}) instead",
        Categories.LossScaling, DiagnosticSeverity.Warning,
        "Dividing a sum over the batch by a constant batch size only equals the mean when every batch is full. The last batch of an epoch is usually smaller, so its loss and gradient are scaled down.");

    public static readonly DiagnosticDescriptor BG0004_LossNormalizedTwice = Rule(
        RuleIds.LossNormalizedTwice,
        "Loss normalised twice by the batch",
        "'{0}' is already averaged over the batch and is {1} again by '{2}'; the loss now scales like {3} and spikes on short batches: remove the second normalisation",
        Categories.LossScaling, DiagnosticSeverity.Warning,
        "A loss that is already a mean over the batch (Reduction.Mean, .mean(), or a sum divided by a count from the batch) and is divided again by a batch-correlated count scales like 1/b. Short batches then produce larger losses and gradients.");

    public static readonly DiagnosticDescriptor BG0005_DivisionByCountThatCanBeZero = Rule(
        RuleIds.DivisionByCountThatCanBeZero,
        "Loss divided by a count from the batch that can be zero",
        "The loss is divided by '{0}', a count computed from the batch that is zero when the batch has no matches; guard it with {1}",
        Categories.LossScaling, DiagnosticSeverity.Warning,
        "Counts computed from the batch (positives, matched boxes, non-padding tokens) are zero for some batches, most often the short last one. Division by zero turns the loss into NaN or Inf, which reaches the weights.");

    public static readonly DiagnosticDescriptor BG0008_DropLastIgnoredByOldTorchSharp = Rule(
        RuleIds.DropLastIgnoredByOldTorchSharp,
        "drop_last is ignored by this TorchSharp version",
        "TorchSharp {0} ignores drop_last when enumerating a DataLoader (fixed in 0.102.5); upgrade TorchSharp or skip short batches in the loop",
        Categories.Batching, DiagnosticSeverity.Warning,
        "Before TorchSharp 0.102.5 the DataLoader enumerator ignored drop_last, so the short final batch was still yielded.");

    // ---- BG0006, BG0007: gradient clipping ----

    public static readonly DiagnosticDescriptor BG0006_MisplacedGradientClipping = Rule(
        RuleIds.MisplacedGradientClipping,
        "Gradient clipping cannot affect the update",
        "'{0}' runs {1} in the same iteration, so it cannot affect the update: call it after backward() and before step()",
        Categories.Optimization, DiagnosticSeverity.Warning,
        "Gradient clipping only changes the update when it runs between backward() (which fills the gradients) and the optimizer's step() (which consumes them).");

    public static readonly DiagnosticDescriptor BG0007_StatefulOptimizerWithoutClipping = Rule(
        RuleIds.StatefulOptimizerWithoutClipping,
        "Stateful optimizer without gradient clipping",
        "Optimizer '{0}' ({1}) carries state across steps and this training loop has no gradient clipping; one bad batch keeps acting for several steps: clip the gradients before step()",
        Categories.Optimization, DiagnosticSeverity.Info,
        "Momentum and adaptive optimizers remember past gradients, so one oversized gradient (from a short batch or an outlier) keeps moving the weights for several steps. Clipping the gradient norm bounds that damage.");

    // ---- BG0009, BG0010: DataLoader order hygiene ----

    public static readonly DiagnosticDescriptor BG0009_SeededShuffleNeverReshuffles = Rule(
        RuleIds.SeededShuffleNeverReshuffles,
        "Seeded shuffle repeats the same order every epoch",
        "DataLoader {0} is created with shuffle: true and seed: {1} and serves more than one epoch; TorchSharp re-seeds its shuffle on every enumeration, so every epoch sees the same order: use a per-epoch shuffler (BatchGuard's EpochShuffler)",
        Categories.DataOrder, DiagnosticSeverity.Warning,
        "TorchSharp's DataLoader with shuffle: true and a seed creates a new random generator from that seed each time it is enumerated, so every epoch yields exactly the same batches.");

    public static readonly DiagnosticDescriptor BG0010_PositionalArgumentBindsDifferently = Rule(
        RuleIds.PositionalArgumentBindsDifferently,
        "Positional DataLoader argument binds to a parameter that differs between overloads",
        "Positional argument '{0}' binds to '{1}' in this DataLoader overload, but to '{2}' in its sibling overload; name the argument",
        Categories.DataOrder, DiagnosticSeverity.Warning,
        "In TorchSharp's DataLoader overloads the parameter after device is 'seed' for the bool shuffle overloads and 'num_worker' for the shuffler overloads. A positional worker count silently becomes a seed.");
}
