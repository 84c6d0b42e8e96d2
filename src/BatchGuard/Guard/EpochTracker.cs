namespace BatchGuard.Guard;

/// <summary>
/// Places each step in its epoch: from a known number of steps per epoch, or else from the batch-size stream
/// (a batch smaller than the nominal one is the last of its epoch).
/// </summary>
internal sealed class EpochTracker
{
    private readonly int? _stepsPerEpoch;
    private readonly bool _dropLast;
    private int _epoch;
    private int _position;

    public EpochTracker(int? nominalBatchSize, int? stepsPerEpoch, bool dropLast)
    {
        NominalBatchSize = nominalBatchSize;
        _stepsPerEpoch = stepsPerEpoch;
        _dropLast = dropLast;
    }

    /// <summary>Given, or the largest batch seen so far.</summary>
    public int? NominalBatchSize { get; private set; }

    /// <summary>Whether epochs can be told apart at all.</summary>
    private bool EpochKnown => _stepsPerEpoch is not null || !_dropLast;

    /// <summary>Epoch and position of the step with this batch size; advances to the next step.</summary>
    public (int? Epoch, int? Position) Advance(int batchSize)
    {
        if (_stepsPerEpoch is null && batchSize > (NominalBatchSize ?? 0)) NominalBatchSize = batchSize;
        var here = EpochKnown ? ((int?)_epoch, (int?)_position) : (null, (int?)_position);

        bool closesEpoch = _stepsPerEpoch is int spe
            ? _position + 1 >= spe
            : !_dropLast && batchSize > 0 && batchSize < NominalBatchSize;
        if (closesEpoch)
        {
            _epoch++;
            _position = 0;
        }
        else
        {
            _position++;
        }
        return here;
    }

    /// <summary>The user says a new epoch starts now (overrides the count or the inference).</summary>
    public void BeginEpoch()
    {
        if (_position == 0) return;
        _epoch++;
        _position = 0;
    }

    public bool IsPartial(int batchSize) => batchSize > 0 && NominalBatchSize is int b && batchSize < b;
}
