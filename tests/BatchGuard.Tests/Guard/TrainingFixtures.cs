using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Guard;

/// <summary>A small regression problem and MLP, deterministic per seed, trained for real on the CPU.</summary>
internal sealed class TinyRegression : IDisposable
{
    public TinyRegression(int samples, int seed = 1, int features = 4, int hidden = 16)
    {
        TorchNativeBackend.EnsureLoaded();
        // A private generator: xunit runs test classes in parallel, and torch's global generator is shared.
        using var generator = new Generator((ulong)seed);
        using var scope = NewDisposeScope();
        X = randn(new long[] { samples, features }, generator: generator);
        var trueW = randn(new long[] { features, 1 }, generator: generator);
        Y = (X.matmul(trueW) + 0.1 * randn(new long[] { samples, 1 }, generator: generator)).MoveToOuterDisposeScope();
        X.MoveToOuterDisposeScope();
        Model = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 1));
        using (no_grad())
        {
            foreach (var p in Model.parameters())
            {
                double bound = 1 / Math.Sqrt(p.shape.Length > 1 ? p.shape[1] : hidden); // nn.Linear's default range
                p.copy_((rand(p.shape, generator: generator) * 2 - 1) * bound);
            }
        }
    }

    public Tensor X { get; }
    public Tensor Y { get; }
    public Sequential Model { get; }
    public long Samples => X.shape[0];

    /// <summary>One epoch of consecutive batches; the last one is short when the batch size does not divide the data.</summary>
    public IEnumerable<(Tensor X, Tensor Y)> Batches(int batchSize)
    {
        for (long start = 0; start < Samples; start += batchSize)
        {
            long end = Math.Min(start + batchSize, Samples);
            yield return (X[TensorIndex.Slice(start, end)], Y[TensorIndex.Slice(start, end)]);
        }
    }

    /// <summary>The bug BatchGuard exists for: a mean loss divided again by the batch size (loss ∝ 1/b).</summary>
    public Tensor DoublyNormalisedLoss(Tensor x, Tensor y) => nn.functional.mse_loss(Model.forward(x), y) / x.shape[0];

    public Tensor MeanLoss(Tensor x, Tensor y) => nn.functional.mse_loss(Model.forward(x), y);

    public float[] Weights()
    {
        using var scope = NewDisposeScope();
        return cat(Model.parameters().Select(p => p.detach().flatten()).ToArray()).data<float>().ToArray();
    }

    public void Dispose()
    {
        X.Dispose();
        Y.Dispose();
        Model.Dispose();
    }
}

/// <summary>Keeps every log entry: level, event id, message and the structured values.</summary>
internal sealed class RecordingLogger : ILogger
{
    public List<(LogLevel Level, EventId Id, string Message, IReadOnlyDictionary<string, object?> Values, Exception? Exception)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.ToDictionary(p => p.Key, p => p.Value)
            : new Dictionary<string, object?>();
        Entries.Add((logLevel, eventId, formatter(state, exception), values, exception));
    }
}
