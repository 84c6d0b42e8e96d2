using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyBatching = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.BatchingRules>;
using VerifyLoss = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.LossScalingRules>;

namespace BatchGuard.Analyzers.Tests.Batching;

/// <summary>
/// The end-to-end case BatchGuard is built for: a multi-task loss normalised by the number of matched items in the
/// batch, then divided again by the batch size, fed by a loader whose last batch is short (BG0001 + BG0004), and its
/// corrected variant (clean).
/// </summary>
public sealed class MultiTaskLossTests
{
    private static string Training(string loader, string normalisation) => TestReferences.Usings + $$"""
        class Detector
        {
            private readonly nn.Module<Tensor, Tensor> _net = nn.Linear(8, 5);

            Tensor MultiTaskLoss(Tensor output, Tensor boxes, Tensor labels, Tensor mask)
            {
                var cls = F.binary_cross_entropy_with_logits(output[.., 0], labels, reduction: nn.Reduction.None);
                var box = F.smooth_l1_loss(output[.., 1..], boxes, reduction: nn.Reduction.None).sum(1);
                var matched = mask.sum().clamp_min(1);
                return ((cls + box) * mask).sum() / matched;
            }

            void Train(optim.Optimizer optimizer)
            {
                var data = torch.utils.data.TensorDataset(randn(1000, 8), randn(1000, 4), rand(1000), rand(1000));
                var loader = {{loader}};
                for (int epoch = 0; epoch < 3; epoch++)
                {
                    foreach (var batch in loader)
                    {
                        var output = _net.forward(batch[0]);
                        var loss = {{normalisation}};
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
        }
        """;

    [Fact]
    public async Task Buggy_loss_is_reported_at_the_division_and_its_loader_at_the_creation()
    {
        var buggy = "MultiTaskLoss(output, batch[1], batch[2], batch[3]) / batch[0].shape[0]";
        await VerifyLoss.Diagnostics(Training("torch.utils.data.DataLoader(data, 64, shuffle: true)", "{|BG0004:" + buggy + "|}"));
        await VerifyBatching.Diagnostics(Training("{|BG0001:torch.utils.data.DataLoader(data, 64, shuffle: true)|}", buggy));
    }

    [Fact]
    public async Task Corrected_loss_is_clean_and_its_loader_is_only_advice()
    {
        var fixedLoss = "MultiTaskLoss(output, batch[1], batch[2], batch[3])";
        await VerifyLoss.Diagnostics(Training("torch.utils.data.DataLoader(data, 64, shuffle: true)", fixedLoss));
        await VerifyBatching.Diagnostics(Training("{|BG0002:torch.utils.data.DataLoader(data, 64, shuffle: true)|}", fixedLoss));
    }

    [Fact]
    public async Task Buggy_loss_with_drop_last_keeps_BG0004_but_the_loader_is_fine()
    {
        var buggy = "MultiTaskLoss(output, batch[1], batch[2], batch[3]) / batch[0].shape[0]";
        await VerifyBatching.Diagnostics(Training("torch.utils.data.DataLoader(data, 64, shuffle: true, drop_last: true)", buggy));
    }
}
