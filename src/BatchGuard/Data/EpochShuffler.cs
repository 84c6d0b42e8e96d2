using System.Collections;

namespace BatchGuard.Data;

/// <summary>
/// A reproducible shuffle that still reshuffles every epoch: pass it as the <c>shuffler</c> of a TorchSharp
/// DataLoader, e.g. <c>torch.utils.data.DataLoader(dataset, 32, shuffler: new EpochShuffler(dataset.Count, seed: 42))</c>.
/// </summary>
/// <remarks>
/// <para>
/// TorchSharp's <c>shuffle: true, seed: s</c> re-creates its generator from <c>s</c> every time the loader is
/// enumerated, so every epoch sees the same order (BatchGuard rule BG0009); without a seed the order changes but
/// cannot be reproduced. This shuffler yields a fresh permutation of <c>0..count-1</c> at every enumeration, a pure
/// function of (<see cref="Seed"/>, epoch): two runs with the same seed see the same sequence of epochs, and a run
/// resumed at epoch k (<see cref="NextEpoch"/>) sees exactly the order the original run saw at epoch k.
/// </para>
/// <para>
/// The order is defined by this class alone, so it never changes with the .NET or TorchSharp version: a SplitMix64
/// generator keyed by (seed, epoch) drives an unbiased Fisher–Yates shuffle (bounded draws by Lemire's
/// multiply-and-reject method). Each epoch costs O(count) time and one <c>long[count]</c>.
/// </para>
/// <para>
/// Every enumeration starts the next epoch, so enumerate the loader once per epoch (as a training loop does).
/// Thread-safe: concurrent enumerations get distinct epochs.
/// </para>
/// </remarks>
public sealed class EpochShuffler : IEnumerable<long>
{
    private long _nextEpoch;

    /// <summary>Creates a shuffler over the indices <c>0..count-1</c>.</summary>
    /// <param name="count">Number of samples; pass the dataset's <c>Count</c>.</param>
    /// <param name="seed">Seed of the whole sequence of epochs.</param>
    /// <param name="startEpoch">Epoch the first enumeration yields; pass the epoch to resume at after a restart.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> or <paramref name="startEpoch"/> is negative.</exception>
    public EpochShuffler(long count, long seed, long startEpoch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(startEpoch);
        // One long[] per epoch must be allocatable: .NET arrays hold at most Array.MaxLength elements.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, (long)Array.MaxLength);
        Count = count;
        Seed = seed;
        _nextEpoch = startEpoch;
    }

    /// <summary>Number of indices in each epoch's permutation.</summary>
    public long Count { get; }

    /// <summary>Seed of the whole sequence of epochs.</summary>
    public long Seed { get; }

    /// <summary>The epoch the next enumeration yields (0 for a fresh shuffler); set it to resume a run.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long NextEpoch
    {
        get => Interlocked.Read(ref _nextEpoch);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Interlocked.Exchange(ref _nextEpoch, value);
        }
    }

    /// <summary>The order of epoch <paramref name="epoch"/>; does not advance <see cref="NextEpoch"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public long[] Permutation(long epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new long[Count];
        for (long i = 0; i < order.LongLength; i++) order[i] = i;

        var random = new SplitMix64(StreamKey(Seed, epoch));
        // Fisher–Yates, from the end: swap each position with a uniformly chosen one at or before it.
        for (long i = order.LongLength - 1; i > 0; i--)
        {
            long j = (long)random.NextBelow((ulong)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Yields the permutation of <see cref="NextEpoch"/> and advances it by one.</summary>
    public IEnumerator<long> GetEnumerator()
    {
        long epoch = Interlocked.Increment(ref _nextEpoch) - 1;
        return ((IEnumerable<long>)Permutation(epoch)).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// Independent starting state per (seed, epoch): both are passed through the SplitMix64 finaliser before they are
    /// combined, so neighbouring seeds or epochs do not give related streams.
    /// </summary>
    private static ulong StreamKey(long seed, long epoch) =>
        SplitMix64.Mix(SplitMix64.Mix(unchecked((ulong)seed)) ^ SplitMix64.Mix(unchecked((ulong)epoch + SplitMix64.Gamma)));

    /// <summary>Steele, Lea and Flood's SplitMix64 (2014): a 64-bit state advanced by a Weyl sequence, then mixed.</summary>
    private struct SplitMix64(ulong state)
    {
        public const ulong Gamma = 0x9E3779B97F4A7C15;
        private ulong _state = state;

        // All arithmetic here is modulo 2^64 by design: unchecked even in a checked build.
        public static ulong Mix(ulong z)
        {
            unchecked
            {
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
                return z ^ (z >> 31);
            }
        }

        public ulong Next() => Mix(unchecked(_state += Gamma));

        /// <summary>Uniform in [0, bound) without modulo bias (Lemire, "Fast Random Integer Generation in an Interval", 2019).</summary>
        public ulong NextBelow(ulong bound)
        {
            ulong high = Math.BigMul(Next(), bound, out ulong low);
            if (low < bound)
            {
                ulong threshold = unchecked(0 - bound) % bound; // 2^64 mod bound
                while (low < threshold) high = Math.BigMul(Next(), bound, out low);
            }
            return high;
        }
    }
}
