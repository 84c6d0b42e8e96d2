namespace BatchGuard.Detection;

/// <summary>Where a step sits: its epoch, its position in the epoch, and whether its batch is partial.</summary>
internal readonly record struct StepContext(int? Epoch, int? Position, int? BatchSize, int? NominalBatchSize)
{
    /// <summary>The batch is smaller than nominal (a zero-size batch included).</summary>
    public bool IsPartial => BatchSize is { } b && NominalBatchSize is { } n && b < n;

    /// <summary>b/B, for a partial batch with at least one sample.</summary>
    public double? SizeRatio => IsPartial && BatchSize > 0 ? (double)BatchSize!.Value / NominalBatchSize!.Value : null;
}

/// <summary>
/// Follows the epoch structure of the stream: the nominal batch size (given or the largest seen), and the epoch
/// length, from the options, else the epoch column, else the spacing of partial batches (a DataLoader without
/// drop_last ends every epoch with one).
/// </summary>
internal sealed class EpochTracker(DetectorOptions options)
{
    private long? _firstStep;
    private int _largestBatch;

    private int? _lastEpochGiven;
    private int _positionInGivenEpoch;
    private int? _givenEpochLength;

    private long? _lastPartialStep;
    private int _partialBatchesSeen;
    private long? _partialSpacing;
    private int _spacingAgreements;

    /// <summary>Steps per epoch, when given or inferred from the epoch column or the partial batches.</summary>
    public int? StepsPerEpoch =>
        options.StepsPerEpoch ?? _givenEpochLength ??
        (_spacingAgreements >= 1 && _partialSpacing is >= 2 and <= int.MaxValue ? (int?)_partialSpacing : null);

    public int? NominalBatchSize => options.NominalBatchSize ?? (_largestBatch > 0 ? _largestBatch : null);

    public StepContext Advance(in StepRecord record)
    {
        // A step number below the first one (a resumed run that counts from 0 again) starts the count afresh.
        if (_firstStep is null || record.Step < _firstStep) _firstStep = record.Step;
        if (record.BatchSize is { } b && b > _largestBatch) _largestBatch = b;
        var nominal = NominalBatchSize;
        var partial = record.BatchSize is { } size && nominal is { } n && size < n;

        int? epoch = null, position = null;
        if (record.Epoch is { } given)
        {
            if (_lastEpochGiven != given)
            {
                if (_lastEpochGiven is not null && _positionInGivenEpoch > 0) _givenEpochLength = _positionInGivenEpoch;
                _lastEpochGiven = given;
                _positionInGivenEpoch = 0;
            }
            epoch = given;
            position = _positionInGivenEpoch++;
        }
        else if (options.StepsPerEpoch is { } perEpoch)
        {
            var offset = record.Step - _firstStep.Value;
            epoch = (int)(offset / perEpoch);
            position = (int)(offset % perEpoch);
        }
        else if (_partialBatchesSeen > 0 || partial)
        {
            // Without an epoch column, a partial batch closes its epoch; the stream is assumed to start an epoch.
            var start = _lastPartialStep is { } last && last < record.Step ? last + 1 : _firstStep.Value;
            epoch = _partialBatchesSeen;
            position = (int)Math.Min(int.MaxValue, record.Step - start);
        }
        else if (record.BatchSize is not null)
        {
            epoch = 0;
            position = (int)Math.Min(int.MaxValue, record.Step - _firstStep.Value);
        }

        if (partial)
        {
            if (_lastPartialStep is { } previous)
            {
                var spacing = record.Step - previous;
                if (spacing == _partialSpacing) _spacingAgreements++;
                else { _partialSpacing = spacing; _spacingAgreements = 0; }
            }
            _lastPartialStep = record.Step;
            _partialBatchesSeen++;
        }
        return new StepContext(epoch, position, record.BatchSize, nominal);
    }
}
