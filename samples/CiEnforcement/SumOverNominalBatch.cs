using TorchSharp;
using static TorchSharp.torch;

namespace CiEnforcement;

/// <summary>
/// Deliberately buggy. A sum over the batch divided by the configured batch size is the mean only for full batches;
/// the short final batch (1000 = 31 x 32 + 8) is weighted by 8/32. Adam carries that through its moment estimates and
/// nothing clips the gradient.
/// </summary>
public sealed class SumOverNominalBatch
{
    private const int BatchSize = 32;

    public static void Train(int epochs)
    {
        var data = torch.utils.data.TensorDataset(randn(1000, 4), randn(1000, 1));
        var loader = torch.utils.data.DataLoader(data, BatchSize, shuffle: true); // BG0001
        var model = nn.Linear(4, 1);
        var optimizer = optim.Adam(model.parameters());

        for (var epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var batch in loader)
            {
                optimizer.zero_grad();
                var loss = (model.forward(batch[0]) - batch[1]).abs().sum() / BatchSize; // BG0003
                loss.backward();
                optimizer.step(); // BG0007
            }
        }
    }
}
