using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace CiEnforcement;

/// <summary>
/// Deliberately buggy. The mean squared error is already averaged over the batch and is divided by the batch size
/// again, so the loss scales like 1/b; 1000 samples in batches of 64 leave a short final batch of 40, whose loss is
/// 1.6 times larger: a spike every epoch. The clipping meant to contain it runs after step().
/// </summary>
public static class DoubleNormalisedRegression
{
    public static void Train(int epochs)
    {
        var data = torch.utils.data.TensorDataset(randn(1000, 8), randn(1000, 1));
        var loader = torch.utils.data.DataLoader(data, 64, shuffle: true); // BG0001
        var model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1));
        var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);

        for (var epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var batch in loader)
            {
                optimizer.zero_grad();
                var prediction = model.forward(batch[0]);
                var loss = F.mse_loss(prediction, batch[1]) / batch[0].shape[0]; // BG0004
                loss.backward();
                optimizer.step();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0); // BG0006
            }
        }
    }
}
