using System.Collections;

namespace BatchGuard.Detection;

/// <summary>The most recent anomalies, in step order, in a ring of fixed capacity; older ones are dropped.</summary>
internal sealed class AnomalyLog(int capacity) : IReadOnlyList<Anomaly>
{
    private Anomaly[] _buffer = new Anomaly[Math.Min(capacity, 64)];
    private int _start, _count;

    public int Count => _count;

    public Anomaly this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(index));
            return _buffer[(_start + index) % _buffer.Length];
        }
        set => _buffer[(_start + index) % _buffer.Length] = value;
    }

    public void Add(Anomaly anomaly)
    {
        if (_count == _buffer.Length && _buffer.Length < capacity)
        {
            // Grow (doubling, up to the capacity) so that a short run does not pay for a 10,000-slot ring.
            var grown = new Anomaly[Math.Min(capacity, _buffer.Length * 2)];
            for (var i = 0; i < _count; i++) grown[i] = this[i];
            _buffer = grown;
            _start = 0;
        }
        if (_count < _buffer.Length)
        {
            _buffer[(_start + _count) % _buffer.Length] = anomaly;
            _count++;
        }
        else
        {
            _buffer[_start] = anomaly;
            _start = (_start + 1) % _buffer.Length;
        }
        // Retrospective verdicts (confirmed dips, warm-up outliers) may arrive after later steps: keep step order.
        for (var i = _count - 1; i > 0 && this[i - 1].Step > this[i].Step; i--)
            (this[i - 1], this[i]) = (this[i], this[i - 1]);
    }

    public IEnumerator<Anomaly> GetEnumerator()
    {
        for (var i = 0; i < _count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
