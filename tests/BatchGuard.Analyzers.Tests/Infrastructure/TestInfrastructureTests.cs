using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.Infrastructure;

/// <summary>The harness compiles real TorchSharp training code without errors, so rule tests only see their own diagnostics.</summary>
public sealed class TestInfrastructureTests
{
    [Fact]
    public async Task TorchSharp_training_loop_compiles_cleanly_under_the_test_harness()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                void Train()
                {
                    var x = randn(64, 4);
                    var y = randn(64, 1);
                    var data = torch.utils.data.TensorDataset(x, y);
                    var loader = torch.utils.data.DataLoader(data, 16, shuffle: true, drop_last: true);
                    var model = nn.Sequential(nn.Linear(4, 1));
                    var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
                    foreach (var batch in loader)
                    {
                        optimizer.zero_grad();
                        var loss = F.mse_loss(model.forward(batch[0]), batch[1]);
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await Verify<EmptyDiagnosticAnalyzer>.Diagnostics(source);
    }
}
