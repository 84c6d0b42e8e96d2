using System.Globalization;
using BatchGuard.Detection;

namespace BatchGuard.Cli;

/// <summary>A loss log that cannot be read: the message names the file and, where it applies, the line.</summary>
internal sealed class LossLogException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Streams a CSV loss log, one <see cref="StepRecord"/> per data row. The header names the columns: <c>step</c> and
/// <c>loss</c> are required; <c>epoch</c>, <c>batch_size</c> and <c>grad_norm</c> are optional (an empty cell means
/// unknown); other columns are ignored. "nan", "inf" and "-inf" are values, not errors: the detector reports them.
/// Fields are split on commas (a field may be wrapped in double quotes, but may not contain a comma). Parsing works on
/// spans: the only allocation per row is the line itself.
/// </summary>
internal sealed class LossLogReader : IDisposable
{
    private const int Missing = -1;
    private readonly string _path;
    private readonly TextReader _reader;
    private readonly int _step, _loss, _epoch, _batchSize, _gradNorm, _lastNeeded;
    private long _line = 1;
    private long _rows;

    private LossLogReader(string path, TextReader reader, string header)
    {
        _path = path;
        _reader = reader;
        _step = _loss = _epoch = _batchSize = _gradNorm = Missing;
        var columns = new List<string>();
        var rest = header.AsSpan();
        for (var index = 0; ; index++)
        {
            var name = Unquote(NextField(ref rest, out var more)).ToString();
            columns.Add(name);
            switch (name.ToLowerInvariant())
            {
                case "step": _step = First(_step, index, name); break;
                case "loss": _loss = First(_loss, index, name); break;
                case "epoch": _epoch = First(_epoch, index, name); break;
                case "batch_size": _batchSize = First(_batchSize, index, name); break;
                case "grad_norm": _gradNorm = First(_gradNorm, index, name); break;
            }
            if (!more) break;
        }
        foreach (var (column, index) in new[] { ("step", _step), ("loss", _loss) })
            if (index == Missing)
                throw Error($"missing required column '{column}' (the header has: {string.Join(", ", columns)})");
        _lastNeeded = new[] { _step, _loss, _epoch, _batchSize, _gradNorm }.Max();
    }

    /// <summary>Opens a log and reads its header.</summary>
    /// <exception cref="LossLogException">The file cannot be opened, is empty, or its header lacks a required column.</exception>
    public static LossLogReader Open(string path)
    {
        TextReader reader;
        try
        {
            reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, new FileStreamOptions { BufferSize = 1 << 16 });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var why = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "file not found",
                UnauthorizedAccessException => "permission denied (or it is a directory)",
                _ => e.Message,
            };
            throw new LossLogException($"{path}: {why}", e);
        }
        try
        {
            string? header;
            while ((header = reader.ReadLine()) is not null && header.Trim().Length == 0) { }
            if (header is null)
                throw new LossLogException($"{path}: the file is empty; expected a CSV header naming at least the columns step and loss");
            return new LossLogReader(path, reader, header);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next data row; false at the end of the file.</summary>
    /// <exception cref="LossLogException">A row is malformed (the message names the line), or the log has no rows.</exception>
    public bool TryRead(out StepRecord record)
    {
        string? line;
        do
        {
            line = ReadLine();
            if (line is null)
            {
                if (_rows == 0) throw new LossLogException($"{_path}: no data rows after the header");
                record = default;
                return false;
            }
            _line++;
        } while (line.AsSpan().Trim().Length == 0);

        long step = 0;
        double loss = 0;
        int? epoch = null, batchSize = null;
        double? gradNorm = null;
        var rest = line.AsSpan();
        var more = true;
        for (var index = 0; index <= _lastNeeded; index++)
        {
            if (!more) throw Error($"expected at least {_lastNeeded + 1} fields, found {index}", _line);
            var field = Unquote(NextField(ref rest, out more));
            if (index == _step) step = ParseStep(field);
            else if (index == _loss) loss = ParseReal(field, "loss") ?? throw Error("loss is empty", _line);
            else if (index == _epoch) epoch = ParseInteger(field, "epoch");
            else if (index == _batchSize) batchSize = ParseInteger(field, "batch_size");
            else if (index == _gradNorm) gradNorm = ParseReal(field, "grad_norm");
        }
        if (batchSize < 0) throw Error($"batch_size {batchSize} is negative", _line);
        _rows++;
        record = new StepRecord(step, loss, batchSize, epoch, gradNorm);
        return true;
    }

    private string? ReadLine()
    {
        try
        {
            return _reader.ReadLine();
        }
        catch (IOException e)
        {
            throw new LossLogException($"{_path}:{_line + 1}: cannot read: {e.Message}", e);
        }
    }

    private long ParseStep(ReadOnlySpan<char> field)
    {
        if (long.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var step)) return step;
        // Some loggers write integral steps as floats ("12.0").
        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && real == Math.Floor(real) && Math.Abs(real) < 9e15)
            return (long)real;
        throw Error(field.IsEmpty ? "step is empty" : $"step '{field}' is not an integer", _line);
    }

    private int? ParseInteger(ReadOnlySpan<char> field, string column)
    {
        if (field.IsEmpty) return null;
        if (int.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && real == Math.Floor(real) && Math.Abs(real) <= int.MaxValue)
            return (int)real;
        throw Error($"{column} '{field}' is not an integer", _line);
    }

    private double? ParseReal(ReadOnlySpan<char> field, string column)
    {
        if (field.IsEmpty) return null;
        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return value;
        var sign = 1.0;
        var word = field;
        if (word[0] is '+' or '-')
        {
            sign = word[0] == '-' ? -1 : 1;
            word = word[1..];
        }
        if (word.Equals("nan", StringComparison.OrdinalIgnoreCase)) return double.NaN;
        if (word.Equals("inf", StringComparison.OrdinalIgnoreCase) || word.Equals("infinity", StringComparison.OrdinalIgnoreCase))
            return sign * double.PositiveInfinity;
        throw Error($"{column} '{field}' is not a number", _line);
    }

    private int First(int existing, int index, string name) =>
        existing == Missing ? index : throw Error($"duplicate column '{name}'");

    /// <summary>The next comma-separated field; <paramref name="more"/> says whether a comma followed it.</summary>
    private static ReadOnlySpan<char> NextField(ref ReadOnlySpan<char> rest, out bool more)
    {
        var comma = rest.IndexOf(',');
        ReadOnlySpan<char> field;
        if (comma < 0)
        {
            field = rest;
            rest = [];
            more = false;
        }
        else
        {
            field = rest[..comma];
            rest = rest[(comma + 1)..];
            more = true;
        }
        return field;
    }

    private static ReadOnlySpan<char> Unquote(ReadOnlySpan<char> field)
    {
        field = field.Trim();
        return field.Length >= 2 && field[0] == '"' && field[^1] == '"' ? field[1..^1].Trim() : field;
    }

    private LossLogException Error(string message, long? line = null) =>
        new(line is { } l ? $"{_path}:{l}: {message}" : $"{_path}:1: {message}");

    public void Dispose() => _reader.Dispose();
}
