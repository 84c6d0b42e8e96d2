// Generates a large solution for measuring BatchGuard's analyzer cost (see docs/performance.md, "Analyzer cost"):
//   dotnet run tests/AnalyzerCost/GenerateSolution.cs -- <output folder> [ml files] [plain files]
// Two projects: TorchTraining (TorchSharp training code: models, data pipelines, training and evaluation loops in
// the shapes people write; one in six with a loss divided twice by the batch size and clipping after step(), and the
// manual-enumerator shape with a sum divided by the nominal batch size) and PlainCode (ordinary business code, no TorchSharp).
// Both load BatchGuard's analyzers from $(BatchGuardAnalyzersDir). Deterministic: the same arguments give the same code.
using System.Text;

var output = Path.GetFullPath(args.Length > 0 ? args[0] : "artifacts/analyzer-cost");
var mlFiles = args.Length > 1 ? int.Parse(args[1]) : 300;
var plainFiles = args.Length > 2 ? int.Parse(args[2]) : 300;

Write(Path.Combine(output, "TorchTraining", "TorchTraining.csproj"), Project(torch: true));
Write(Path.Combine(output, "PlainCode", "PlainCode.csproj"), Project(torch: false));
for (var i = 0; i < mlFiles; i++) Write(Path.Combine(output, "TorchTraining", $"Experiment{i:D3}.cs"), TrainingFile(i));
for (var i = 0; i < plainFiles; i++) Write(Path.Combine(output, "PlainCode", $"Service{i:D3}.cs"), PlainFile(i));
Console.WriteLine($"wrote {mlFiles} TorchSharp files and {plainFiles} plain files under {output}");

static void Write(string path, string text)
{
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    File.WriteAllText(path, text);
}

static string Project(bool torch) => $"""
    <Project Sdk="Microsoft.NET.Sdk">
      <PropertyGroup>
        <TargetFramework>net8.0</TargetFramework>
        <OutputType>Library</OutputType>
        <NoWarn>$(NoWarn);CS0168;CS0219;CS8618</NoWarn>
      </PropertyGroup>
      <ItemGroup>
    {(torch ? "    <PackageReference Include=\"TorchSharp\" />\n" : "")}    <Analyzer Include="$(BatchGuardAnalyzersDir)/BatchGuard.Analyzers.dll" />
        <Analyzer Include="$(BatchGuardAnalyzersDir)/BatchGuard.Analyzers.CodeFixes.dll" />
      </ItemGroup>
    </Project>
    """;

static string TrainingFile(int i)
{
    var inputs = 8 + i % 5 * 8;
    var hidden = 32 + i % 7 * 16;
    var classes = 2 + i % 6;
    var samples = 1000 + i % 9 * 100;
    var batch = new[] { 16, 32, 64, 100, 128 }[i % 5];
    var optimizer = (i % 4) switch
    {
        0 => "optim.Adam(_model.parameters(), lr: 1e-3)",
        1 => "optim.SGD(_model.parameters(), 0.05, momentum: 0.9)",
        2 => "optim.AdamW(_model.parameters(), lr: 3e-4, weight_decay: 0.01)",
        _ => "optim.SGD(_model.parameters(), 0.1)",
    };
    var sb = new StringBuilder();
    sb.Append($$"""
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using F = TorchSharp.torch.nn.functional;

        namespace TorchTraining.Experiment{{i:D3}};

        public sealed record Options{{i}}(int Epochs, int BatchSize, double LearningRate, bool Shuffle);

        public sealed class Classifier{{i}} : nn.Module<Tensor, Tensor>
        {
            private readonly nn.Module<Tensor, Tensor> _features;
            private readonly nn.Module<Tensor, Tensor> _head;

            public Classifier{{i}}(int inputs, int hidden, int classes) : base(nameof(Classifier{{i}}))
            {
                _features = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, hidden), nn.ReLU());
                _head = nn.Linear(hidden, classes);
                RegisterComponents();
            }

            public override Tensor forward(Tensor input)
            {
                var features = _features.forward(input);
                return _head.forward(features);
            }
        }

        public sealed class Trainer{{i}}
        {
            private const int BatchSize = {{batch}};
            private readonly Classifier{{i}} _model = new({{inputs}}, {{hidden}}, {{classes}});
            private readonly optim.Optimizer _optimizer;
            private readonly List<float> _history = new();

            public Trainer{{i}}() => _optimizer = {{optimizer}};

            public IReadOnlyList<float> History => _history;

            public static (Tensor x, Tensor y) MakeData(int samples)
            {
                var x = randn(samples, {{inputs}});
                var y = randint({{classes}}, new long[] { samples });
                return (x, y);
            }

            public static Tensor Standardise(Tensor x)
            {
                var mean = x.mean(new long[] { 0 }, keepdim: true);
                var std = x.std(0, keepdim: true) + 1e-6;
                return (x - mean) / std;
            }

        """);
    sb.Append((i % 6) switch
    {
        0 => $$"""
                public void Train(Options{{i}} options)
                {
                    var (x, y) = MakeData({{samples}});
                    var loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Standardise(x), y), options.BatchSize, shuffle: options.Shuffle, drop_last: true);
                    for (var epoch = 0; epoch < options.Epochs; epoch++)
                    {
                        _model.train();
                        foreach (var batch in loader)
                        {
                            using var scope = torch.NewDisposeScope();
                            _optimizer.zero_grad();
                            var logits = _model.forward(batch[0]);
                            var loss = F.cross_entropy(logits, batch[1]);
                            loss.backward();
                            torch.nn.utils.clip_grad_norm_(_model.parameters(), 1.0);
                            _optimizer.step();
                            _history.Add(loss.item<float>());
                        }
                    }
                }

            """,
        1 => $$"""
                public void Train(int epochs)
                {
                    var (x, y) = MakeData({{samples}});
                    var loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), BatchSize, shuffle: true);
                    var criterion = nn.CrossEntropyLoss();
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        var total = 0.0;
                        var steps = 0;
                        foreach (var batch in loader)
                        {
                            _optimizer.zero_grad();
                            var loss = criterion.forward(_model.forward(batch[0]), batch[1]);
                            loss.backward();
                            _optimizer.step();
                            total += loss.item<float>();
                            steps++;
                        }
                        _history.Add((float)(total / Math.Max(steps, 1)));
                    }
                }

            """,
        2 => $$"""
                public void Train(int epochs)
                {
                    var (x, y) = MakeData({{samples}});
                    var loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), BatchSize, shuffle: true, drop_last: false);
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        using var batches = loader.GetEnumerator();
                        while (batches.MoveNext())
                        {
                            var (input, target) = (batches.Current[0], batches.Current[1]);
                            _optimizer.zero_grad();
                            var logits = _model.forward(input);
                            var loss = (logits - F.one_hot(target, {{classes}}).to_type(ScalarType.Float32)).pow(2).sum() / BatchSize;
                            loss.backward();
                            _optimizer.step();
                            _history.Add(loss.item<float>());
                        }
                    }
                }

            """,
        3 => $$"""
                public void Train(int epochs, int accumulationSteps = 4)
                {
                    var (x, y) = MakeData({{samples}});
                    var loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), BatchSize, shuffle: true);
                    var step = 0;
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        foreach (var batch in loader)
                        {
                            var loss = F.cross_entropy(_model.forward(batch[0]), batch[1]) / accumulationSteps;
                            loss.backward();
                            if (++step % accumulationSteps == 0)
                            {
                                torch.nn.utils.clip_grad_norm_(_model.parameters(), 5.0);
                                _optimizer.step();
                                _optimizer.zero_grad();
                            }
                        }
                    }
                }

            """,
        4 => $$"""
                public void Train(int epochs)
                {
                    var (x, y) = MakeData({{samples}});
                    var loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), BatchSize, shuffle: true);
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        foreach (var batch in loader)
                        {
                            var input = batch[0];
                            _optimizer.zero_grad();
                            var loss = F.cross_entropy(_model.forward(input), batch[1]) / input.shape[0];
                            loss.backward();
                            _optimizer.step();
                            torch.nn.utils.clip_grad_value_(_model.parameters(), 0.5);
                        }
                    }
                }

            """,
        _ => $$"""
                public void Train(int epochs)
                {
                    var (x, y) = MakeData({{samples}});
                    var dataset = torch.utils.data.TensorDataset(x, y);
                    var loader = torch.utils.data.DataLoader(dataset, BatchSize, shuffle: true, drop_last: true);
                    var epoch = 0;
                    do
                    {
                        foreach (var batch in loader)
                        {
                            _optimizer.zero_grad();
                            var logits = _model.forward(batch[0]);
                            var perSample = F.cross_entropy(logits, batch[1], reduction: nn.Reduction.None);
                            var loss = perSample.mean();
                            loss.backward();
                            torch.nn.utils.clip_grad_norm_(_model.parameters(), 1.0);
                            _optimizer.step();
                        }
                    } while (++epoch < epochs);
                }

            """,
    });
    sb.Append($$"""
            public double Evaluate(int samples)
            {
                var (x, y) = MakeData(samples);
                var loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), 256);
                _model.eval();
                var correct = 0L;
                var seen = 0L;
                using (torch.no_grad())
                {
                    foreach (var batch in loader)
                    {
                        var predicted = _model.forward(batch[0]).argmax(1);
                        correct += predicted.eq(batch[1]).sum().item<long>();
                        seen += batch[1].shape[0];
                    }
                }
                return seen == 0 ? 0 : (double)correct / seen;
            }

            public string Summary() =>
                _history.Count == 0 ? "not trained" : $"{_history.Count} steps, last loss {_history[^1]:F4}, best {_history.Min():F4}";
        }

        """);
    return sb.ToString();
}

static string PlainFile(int i) => $$"""
    using System;
    using System.Collections.Generic;
    using System.Globalization;
    using System.Linq;
    using System.Text;
    using System.Threading;
    using System.Threading.Tasks;

    namespace PlainCode.Service{{i:D3}};

    public enum OrderState{{i}} { Draft, Submitted, Paid, Shipped, Cancelled }

    public sealed record OrderLine{{i}}(string Sku, int Quantity, decimal UnitPrice)
    {
        public decimal Total => Quantity * UnitPrice;
    }

    public sealed record Order{{i}}(Guid Id, string Customer, DateTime CreatedUtc, OrderState{{i}} State, IReadOnlyList<OrderLine{{i}}> Lines)
    {
        public decimal Total => Lines.Sum(l => l.Total);
    }

    public interface IOrderStore{{i}}
    {
        Task<IReadOnlyList<Order{{i}}>> LoadAsync(string customer, CancellationToken ct);
        Task SaveAsync(Order{{i}} order, CancellationToken ct);
    }

    public sealed class InMemoryOrderStore{{i}} : IOrderStore{{i}}
    {
        private readonly Dictionary<Guid, Order{{i}}> _orders = new();
        private readonly object _gate = new();

        public Task<IReadOnlyList<Order{{i}}>> LoadAsync(string customer, CancellationToken ct)
        {
            lock (_gate)
            {
                IReadOnlyList<Order{{i}}> result = _orders.Values.Where(o => o.Customer == customer).OrderBy(o => o.CreatedUtc).ToList();
                return Task.FromResult(result);
            }
        }

        public Task SaveAsync(Order{{i}} order, CancellationToken ct)
        {
            lock (_gate) _orders[order.Id] = order;
            return Task.CompletedTask;
        }
    }

    public sealed class OrderService{{i}}
    {
        private readonly IOrderStore{{i}} _store;
        private readonly decimal _discountThreshold = {{100 + i % 50}}m;

        public OrderService{{i}}(IOrderStore{{i}} store) => _store = store ?? throw new ArgumentNullException(nameof(store));

        public async Task<Order{{i}}> SubmitAsync(string customer, IEnumerable<OrderLine{{i}}> lines, CancellationToken ct = default)
        {
            var list = lines.Where(l => l.Quantity > 0).ToList();
            if (list.Count == 0) throw new ArgumentException("an order needs at least one line", nameof(lines));
            var order = new Order{{i}}(Guid.NewGuid(), customer, DateTime.UtcNow, OrderState{{i}}.Submitted, list);
            await _store.SaveAsync(order, ct).ConfigureAwait(false);
            return order;
        }

        public async Task<decimal> OutstandingAsync(string customer, CancellationToken ct = default)
        {
            var orders = await _store.LoadAsync(customer, ct).ConfigureAwait(false);
            var total = 0m;
            foreach (var order in orders)
            {
                switch (order.State)
                {
                    case OrderState{{i}}.Submitted:
                        total += Discounted(order.Total);
                        break;
                    case OrderState{{i}}.Cancelled:
                    case OrderState{{i}}.Paid:
                    case OrderState{{i}}.Shipped:
                        continue;
                    default:
                        break;
                }
            }
            return total;
        }

        public decimal Discounted(decimal amount) => amount > _discountThreshold ? Math.Round(amount * 0.95m, 2) : amount;

        public static string Describe(Order{{i}} order)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"Order {order.Id:N} for {order.Customer} ({order.State})");
            for (var i = 0; i < order.Lines.Count; i++)
            {
                var line = order.Lines[i];
                sb.AppendLine().Append(CultureInfo.InvariantCulture, $"  {i + 1}. {line.Sku} x{line.Quantity} @ {line.UnitPrice:F2} = {line.Total:F2}");
            }
            return sb.ToString();
        }

        public static IReadOnlyDictionary<string, int> TopSkus(IEnumerable<Order{{i}}> orders, int count) =>
            orders.SelectMany(o => o.Lines)
                .GroupBy(l => l.Sku, StringComparer.OrdinalIgnoreCase)
                .Select(g => (sku: g.Key, quantity: g.Sum(l => l.Quantity)))
                .OrderByDescending(t => t.quantity)
                .ThenBy(t => t.sku, StringComparer.Ordinal)
                .Take(count)
                .ToDictionary(t => t.sku, t => t.quantity);

        public static bool TryParseLine(string text, out OrderLine{{i}}? line)
        {
            line = null;
            var parts = text.Split(';', StringSplitOptions.TrimEntries);
            if (parts.Length != 3) return false;
            if (!int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var quantity)) return false;
            if (!decimal.TryParse(parts[2], NumberStyles.Number, CultureInfo.InvariantCulture, out var price)) return false;
            line = new OrderLine{{i}}(parts[0], quantity, price);
            return true;
        }
    }

    """;
