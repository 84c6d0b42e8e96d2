using BatchGuard.Analyzers.Tests.Infrastructure;
using VerifyLoss = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.LossScalingRules>;

namespace BatchGuard.Analyzers.Tests.BatchDegree;

/// <summary>
/// Tuples on the way to the loss. A model of the user's own that returns one (a VAE's reconstruction, mean and
/// log-variance) is interpreted element by element, so the losses built from its outputs get a batch degree (BG0003,
/// BG0004); a batch deconstructed in the loop body keeps its batch axis.
/// </summary>
public sealed class TupleOutputTests
{
    private const string Vae = """
        class Vae : nn.Module<Tensor, (Tensor, Tensor, Tensor)>
        {
            private readonly nn.Module<Tensor, Tensor> enc = nn.Linear(784, 400), mu = nn.Linear(400, 20),
                logvar = nn.Linear(400, 20), dec = nn.Linear(20, 784);

            public Vae() : base("vae") => RegisterComponents();

            public override (Tensor, Tensor, Tensor) forward(Tensor x)
            {
                var h = F.relu(enc.forward(x));
                var m = mu.forward(h);
                var lv = logvar.forward(h);
                var z = m + torch.randn_like(lv) * torch.exp(0.5 * lv);
                return (torch.sigmoid(dec.forward(z)), m, lv);
            }
        }
        """;

    private static string Train(string loopBody, string parameters = "Vae model") => TestReferences.Usings + $$"""
        {{Vae}}

        class Trainer
        {
            const int BatchSize = 128;

            void Train({{parameters}}, torch.utils.data.Dataset data)
            {
                var optimizer = optim.Adam(model.parameters(), 1e-3);
                var loader = torch.utils.data.DataLoader(data, BatchSize, shuffle: true);
                foreach (var b in loader)
                {
                    var x = b["data"];
                    optimizer.zero_grad();
                    {{loopBody}}
                    loss.backward();
                    optimizer.step();
                }
            }
        }
        """;

    private const string SumTerms = """
        var (recon, mu, logvar) = model.forward(x);
        var bce = F.binary_cross_entropy(recon, x, reduction: nn.Reduction.Sum);
        var kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp());
        """;

    [Fact]
    public async Task Summed_vae_loss_divided_by_the_batch_size_setting_is_reported()
    {
        await VerifyLoss.Diagnostics(Train(SumTerms + "var loss = {|BG0003:(bce + kld) / BatchSize|};"));
    }

    [Fact]
    public async Task Summed_vae_loss_divided_by_the_batchs_actual_size_is_not_reported()
    {
        await VerifyLoss.Diagnostics(Train(SumTerms + "var loss = (bce + kld) / x.shape[0];"));
    }

    [Fact]
    public async Task Kl_term_of_a_tuple_element_summed_and_divided_by_the_batch_size_setting_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var output = model.forward(x);
            var bce = F.binary_cross_entropy(output.Item1, x);
            var kld = {|BG0003:-0.5 * torch.sum(1 + output.Item3 - output.Item2.pow(2) - output.Item3.exp()) / BatchSize|};
            var loss = bce + kld;
            """));
    }

    [Fact]
    public async Task Averaged_vae_loss_divided_again_by_the_batch_is_reported()
    {
        await VerifyLoss.Diagnostics(Train("""
            var (recon, mu, logvar) = model.forward(x);
            var kld = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp());
            var loss = F.binary_cross_entropy(recon, x) + {|BG0004:kld / x.shape[0]|};
            """));
    }

    [Fact]
    public async Task A_model_output_deconstructed_into_existing_locals_is_followed()
    {
        await VerifyLoss.Diagnostics(Train("""
            Tensor recon, mu, logvar;
            (recon, mu, logvar) = model.forward(x);
            var loss = {|BG0003:-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / BatchSize|};
            """));
    }

    [Fact]
    public async Task A_library_modules_tuple_output_is_not_given_a_batch_axis()
    {
        // nn.LSTM's hidden state is (layers, batch, hidden): its first axis is not the batch, and h.mean(0) averages the
        // layers. Only models declared in the user's code are taken to return batch-major tensors.
        await VerifyLoss.Diagnostics(Train("""
            var (output, h, c) = lstm.forward(x);
            var loss = h.mean(new long[] { 0 }).sum() / x.shape[0];
            """, parameters: "LSTM lstm, Vae model"));
    }

    [Fact]
    public async Task A_batch_deconstructed_in_the_loop_body_is_followed()
    {
        string source = TestReferences.Usings + """
            class Trainer
            {
                const int BatchSize = 16;

                void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, torch.utils.data.Dataset<(Tensor, Tensor)> data)
                {
                    var loader = new DataLoader<(Tensor, Tensor), (Tensor, Tensor)>(data, BatchSize,
                        (items, device) => (cat(items.Select(i => i.Item1).ToArray(), 0), cat(items.Select(i => i.Item2).ToArray(), 0)), shuffle: true);
                    foreach (var batch in loader)
                    {
                        var (x, y) = batch;
                        var loss = {|BG0003:F.mse_loss(net.forward(x), y, reduction: nn.Reduction.Sum) / BatchSize|};
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }

    [Fact]
    public async Task A_model_whose_forward_calls_itself_is_not_followed_into_its_own_calls()
    {
        // Interpreting every level of a recursive forward for every element of every call grows exponentially (six
        // self-calls took minutes); the model's calls to itself are unknown, so its outputs here carry no claim.
        string source = TestReferences.Usings + """
            class Tree : nn.Module<Tensor, (Tensor, Tensor)>
            {
                private readonly nn.Module<Tensor, Tensor> leaf = nn.Linear(16, 16);
                public Tree() : base("tree") => RegisterComponents();
                public override (Tensor, Tensor) forward(Tensor x)
                {
                    if (x.shape[1] <= 16) return (leaf.forward(x), x.sum());
                    var (a, qa) = forward(x[.., ..16]);
                    var (b, qb) = forward(x[.., 16..] + a);
                    var (c, qc) = forward(a + b);
                    var (d, qd) = forward(a * b + c);
                    var (e, qe) = forward(c * d + qa);
                    var (f, qf) = forward(e + d + qb);
                    return (c + d + e + f, qa + qb + qc + qd + qe + qf);
                }
            }

            class Trainer
            {
                const int BatchSize = 64;
                void Train(Tree model, torch.utils.data.Dataset data)
                {
                    var optimizer = optim.SGD(model.parameters(), 0.1);
                    foreach (var b in torch.utils.data.DataLoader(data, BatchSize, shuffle: true))
                    {
                        var (o, q) = model.forward(b["x"]);
                        var loss = (F.mse_loss(o, b["y"]) + q) / BatchSize;
                        optimizer.zero_grad(); loss.backward(); optimizer.step();
                    }
                }
            }
            """;
        await VerifyLoss.Diagnostics(source);
    }
}
