using BatchGuard.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Data;

/// <summary>
/// The TorchSharp 0.107 behaviour behind BG0009, and <see cref="EpochShuffler"/> driving a real TorchSharp DataLoader.
/// Each dataset row holds its own index, so the batches show the order the loader used.
/// </summary>
public sealed class EpochShufflerTests
{
    private const int Rows = 20;
    private const int BatchSize = 6; // 20 rows -> batches of 6, 6, 6, 2

    [Fact]
    public void TorchSharp_seeded_shuffle_yields_the_same_order_every_epoch()
    {
        using var loader = torch.utils.data.DataLoader(IndexDataset(), 5, shuffle: true, seed: 3);

        var epochs = Enumerable.Range(0, 3).Select(_ => EpochOrder(loader)).ToList();

        Assert.NotEqual(Enumerable.Range(0, Rows).Select(i => (long)i), epochs[0]); // it does shuffle...
        Assert.Equal(epochs[0], epochs[1]); // ...but never reshuffles
        Assert.Equal(epochs[0], epochs[2]);
    }

    [Fact]
    public void TorchSharp_unseeded_shuffle_changes_the_order_between_epochs()
    {
        using var loader = torch.utils.data.DataLoader(IndexDataset(), 5, shuffle: true);

        // Three epochs with one order would happen with probability (1/20!)^2 if the order were redrawn.
        var epochs = Enumerable.Range(0, 3).Select(_ => EpochOrder(loader)).ToList();

        Assert.False(epochs[0].SequenceEqual(epochs[1]) && epochs[1].SequenceEqual(epochs[2]));
    }

    [Fact]
    public void TorchSharp_DataLoader_enumerates_its_shuffler_once_per_epoch()
    {
        var counting = new CountingShuffler(Rows);
        using var loader = torch.utils.data.DataLoader(IndexDataset(), BatchSize, shuffler: counting, disposeDataset: true);

        for (int epoch = 0; epoch < 3; epoch++) EpochOrder(loader);

        Assert.Equal(3, counting.Enumerations);
    }

    [Fact]
    public void Each_epoch_of_a_DataLoader_visits_every_sample_exactly_once()
    {
        var shuffler = new EpochShuffler(Rows, seed: 42);
        using var loader = torch.utils.data.DataLoader(IndexDataset(), BatchSize, shuffler: shuffler);

        for (int epoch = 0; epoch < 4; epoch++)
        {
            Assert.Equal(Enumerable.Range(0, Rows).Select(i => (long)i), EpochOrder(loader).Order());
        }
    }

    [Fact]
    public void A_DataLoader_with_an_epoch_shuffler_reshuffles_every_epoch()
    {
        var shuffler = new EpochShuffler(Rows, seed: 42);
        using var loader = torch.utils.data.DataLoader(IndexDataset(), BatchSize, shuffler: shuffler);

        var epochs = Enumerable.Range(0, 4).Select(_ => EpochOrder(loader)).ToList();

        Assert.Equal(4, epochs.Select(e => string.Join(",", e)).Distinct().Count());
        // The samples that form the short final batch change too (with a fixed order they are always the same).
        Assert.True(epochs.Select(e => string.Join(",", e.TakeLast(Rows % BatchSize).Order())).Distinct().Count() > 1);
    }

    [Fact]
    public void Two_runs_with_the_same_seed_see_identical_epochs()
    {
        var first = Run(seed: 7, startEpoch: 0, epochs: 3);
        var second = Run(seed: 7, startEpoch: 0, epochs: 3);
        var otherSeed = Run(seed: 8, startEpoch: 0, epochs: 3);

        Assert.Equal(first, second);
        Assert.NotEqual(first[0], otherSeed[0]);
    }

    [Fact]
    public void A_run_resumed_at_epoch_k_sees_the_original_run_epoch_k()
    {
        var original = Run(seed: 7, startEpoch: 0, epochs: 5);

        var resumed = Run(seed: 7, startEpoch: 3, epochs: 2);

        Assert.Equal(original[3], resumed[0]);
        Assert.Equal(original[4], resumed[1]);
    }

    [Fact]
    public void Setting_NextEpoch_resumes_an_existing_shuffler()
    {
        var shuffler = new EpochShuffler(Rows, seed: 7);
        var epoch2 = shuffler.Permutation(2);

        shuffler.NextEpoch = 2;
        using var loader = torch.utils.data.DataLoader(IndexDataset(), BatchSize, shuffler: shuffler);

        Assert.Equal(epoch2, EpochOrder(loader));
        Assert.Equal(3, shuffler.NextEpoch);
    }

    [Fact]
    public void Drop_last_drops_a_different_remainder_each_epoch()
    {
        var shuffler = new EpochShuffler(Rows, seed: 1);
        using var loader = torch.utils.data.DataLoader(IndexDataset(), BatchSize, shuffler: shuffler, drop_last: true);

        var first = EpochOrder(loader);
        var second = EpochOrder(loader);

        Assert.Equal(Rows - Rows % BatchSize, first.Length);
        Assert.Equal(shuffler.Permutation(0).Take(first.Length), first);
        Assert.Equal(shuffler.Permutation(1).Take(second.Length), second);
    }

    [Fact]
    public void The_order_is_pinned_forever_for_a_given_seed_and_epoch()
    {
        // Changing the generator would silently change every user's "reproducible" runs; this pins it.
        var shuffler = new EpochShuffler(10, seed: 42);

        Assert.Equal(GoldenSeed42Epoch0, shuffler.Permutation(0));
        Assert.Equal(GoldenSeed42Epoch1, shuffler.Permutation(1));
    }

    [Fact]
    public void Enumerating_without_a_DataLoader_advances_one_epoch_per_enumeration()
    {
        var shuffler = new EpochShuffler(1000, seed: 5);

        var first = shuffler.ToArray();
        var second = shuffler.ToArray();

        Assert.Equal(shuffler.Permutation(0), first);
        Assert.Equal(shuffler.Permutation(1), second);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), second.Order());
    }

    [Fact]
    public void Empty_and_single_sample_datasets_are_handled()
    {
        Assert.Empty(new EpochShuffler(0, seed: 1));
        Assert.Equal(new long[] { 0 }, new EpochShuffler(1, seed: 1));
    }

    [Fact]
    public void Negative_arguments_are_rejected_with_their_name()
    {
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => new EpochShuffler(-1, seed: 1)).ParamName);
        Assert.Equal("startEpoch", Assert.Throws<ArgumentOutOfRangeException>(() => new EpochShuffler(5, seed: 1, startEpoch: -1)).ParamName);
        Assert.Equal("value", Assert.Throws<ArgumentOutOfRangeException>(() => new EpochShuffler(5, seed: 1).NextEpoch = -2).ParamName);
        Assert.Equal("epoch", Assert.Throws<ArgumentOutOfRangeException>(() => new EpochShuffler(5, seed: 1).Permutation(-1)).ParamName);
    }

    // Computed by an independent Python re-implementation of SplitMix64 + Fisher–Yates (see EpochShuffler's remarks).
    private static readonly long[] GoldenSeed42Epoch0 = [6, 1, 3, 5, 4, 9, 8, 7, 2, 0];
    private static readonly long[] GoldenSeed42Epoch1 = [6, 7, 2, 3, 0, 5, 4, 1, 8, 9];

    private static List<long[]> Run(long seed, long startEpoch, int epochs)
    {
        using var loader = torch.utils.data.DataLoader(IndexDataset(), BatchSize,
            shuffler: new EpochShuffler(Rows, seed, startEpoch));
        return Enumerable.Range(0, epochs).Select(_ => EpochOrder(loader)).ToList();
    }

    /// <summary>A dataset whose row i holds the value i.</summary>
    private static torch.utils.data.IterableDataset IndexDataset()
    {
        TorchNativeBackend.EnsureLoaded();
        return torch.utils.data.TensorDataset(arange(Rows, dtype: int64).reshape(Rows, 1));
    }

    /// <summary>Enumerates the loader once (one epoch) and returns the sample indices in the order they came.</summary>
    private static long[] EpochOrder(IEnumerable<IList<Tensor>> loader)
    {
        var order = new List<long>();
        foreach (var batch in loader)
        {
            order.AddRange(batch[0].flatten().data<long>().ToArray());
        }
        return order.ToArray();
    }

    private sealed class CountingShuffler(long count) : IEnumerable<long>
    {
        public int Enumerations { get; private set; }

        public IEnumerator<long> GetEnumerator()
        {
            Enumerations++;
            for (long i = 0; i < count; i++) yield return i;
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
