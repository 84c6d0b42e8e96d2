using System.Globalization;
using System.Text;
using System.Text.Json;
using BatchGuard.Cli;

namespace BatchGuard.Tests.Detection.Cli;

public sealed class AnalyzeCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("batchguard-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (int Code, string Out, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private string File(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    /// <summary>A log of a loss normalised twice: epochs of 50 steps, batch 64, a last batch of 8.</summary>
    private string SpikyLog(string name = "train.csv", int epochs = 8)
    {
        var csv = new StringBuilder("step,epoch,batch_size,loss,lr\n");
        var random = new Random(5);
        for (var step = 0; step < epochs * 50; step++)
        {
            var b = step % 50 == 49 ? 8 : 64;
            var loss = (0.4 + 2 * Math.Exp(-step / 300.0)) * (1 + 0.01 * (random.NextDouble() - 0.5)) * 64 / b;
            csv.Append(CultureInfo.InvariantCulture, $"{step},{step / 50},{b},{loss:R},0.001\n");
        }
        return File(name, csv.ToString());
    }

    [Fact]
    public void Json_output_is_one_object_per_file_with_the_documented_fields()
    {
        var first = SpikyLog("a.csv");
        var second = SpikyLog("b.csv");

        var (code, output, error) = Run("analyze", first, second, "--format", "json");

        Assert.Equal(0, code);
        Assert.Empty(error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var json = JsonDocument.Parse(lines[0]);
        var root = json.RootElement;
        Assert.Equal(first, root.GetProperty("file").GetString());
        Assert.Equal(400, root.GetProperty("steps").GetInt64());
        var spike = root.GetProperty("anomalies")[0];
        Assert.Equal(49, spike.GetProperty("step").GetInt64());
        Assert.Equal("spike", spike.GetProperty("kind").GetString());
        Assert.Equal("partial-batch", spike.GetProperty("cause").GetString());
        Assert.True(spike.GetProperty("loss").GetDouble() > 5 * spike.GetProperty("baseline").GetDouble());
        var diagnosis = root.GetProperty("diagnosis");
        Assert.Equal(50, diagnosis.GetProperty("period").GetInt32());
        Assert.Equal(-1, diagnosis.GetProperty("batch_size_exponent").GetDouble(), 0.1);
        Assert.Contains("Set drop_last: true or remove the division by the batch size", diagnosis.GetProperty("summary").GetString());
        Assert.Equal(second, JsonDocument.Parse(lines[1]).RootElement.GetProperty("file").GetString());
    }

    [Fact]
    public void Text_output_is_the_default_and_ends_with_the_diagnosis()
    {
        var log = SpikyLog();

        var (code, output, _) = Run("analyze", log);

        Assert.Equal(0, code);
        Assert.StartsWith($"{log}: 400 steps, ", output);
        Assert.Contains("step 49: spike, partial-batch", output);
        Assert.Contains("diagnosis: loss ∝ 1/b (k≈−1.0", output);
    }

    [Fact]
    public void Text_reports_of_several_files_are_separated_by_a_blank_line()
    {
        var first = SpikyLog("a.csv");
        var second = SpikyLog("b.csv");

        var (_, output, _) = Run("analyze", first, second, "--format", "text");

        Assert.Contains($"\n\n{second}: 400 steps", output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Nan_and_inf_losses_are_non_finite_anomalies_not_parse_errors()
    {
        var csv = new StringBuilder("step,loss\n");
        for (var step = 0; step < 100; step++)
            csv.Append(CultureInfo.InvariantCulture, $"{step},{(step == 60 ? "nan" : step == 70 ? "inf" : step == 80 ? "-Infinity" : "0.5")}\n");
        var log = File("nan.csv", csv.ToString());

        var (code, output, error) = Run("analyze", log, "--format=json");

        Assert.Equal(0, code);
        Assert.Empty(error);
        var anomalies = JsonDocument.Parse(output).RootElement.GetProperty("anomalies").EnumerateArray().ToList();
        Assert.Equal([60L, 70L, 80L], anomalies.Select(a => a.GetProperty("step").GetInt64()));
        Assert.All(anomalies, a =>
        {
            Assert.Equal("non-finite", a.GetProperty("kind").GetString());
            Assert.Equal(JsonValueKind.Null, a.GetProperty("loss").ValueKind);
        });
    }

    [Fact]
    public void Columns_are_found_by_name_in_any_order_and_other_columns_are_ignored()
    {
        var log = File("order.csv", "\"lr\", Loss ,note,STEP,grad_norm\n0.1,0.5,x,1,\n0.1,0.5,y,2,1.5\n");

        var (code, output, error) = Run("analyze", log, "--format", "json");

        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal(2, JsonDocument.Parse(output).RootElement.GetProperty("steps").GetInt64());
    }

    [Fact]
    public void A_missing_required_column_is_an_error_naming_the_file_and_the_header_line()
    {
        var log = File("noloss.csv", "step,epoch\n1,0\n");

        var (code, output, error) = Run("analyze", log);

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains($"{log}:1: missing required column 'loss'", error);
    }

    [Fact]
    public void An_unparsable_number_names_the_file_and_line_and_the_other_files_are_still_analysed()
    {
        var bad = File("bad.csv", "step,loss\n1,0.5\n2,0.4\n3,zero\n");
        var good = SpikyLog();

        var (code, output, error) = Run("analyze", bad, good, "--format", "json");

        Assert.Equal(2, code);
        Assert.Equal($"batchguard: {bad}:4: loss 'zero' is not a number", error.Trim());
        Assert.Equal(good, JsonDocument.Parse(output).RootElement.GetProperty("file").GetString());
    }

    [Theory]
    [InlineData("step,loss,batch_size\n1,0.5,64\n2,0.5,sixty\n", ":3: batch_size 'sixty' is not an integer")]
    [InlineData("step,loss\n1,0.5\nfirst,0.5\n", ":3: step 'first' is not an integer")]
    [InlineData("step,loss\n1,0.5\n2,\n", ":3: loss is empty")]
    [InlineData("step,epoch,loss\n1,0,0.5\n2,0\n", ":3: expected at least 3 fields, found 2")]
    [InlineData("step,loss,epoch\n1,0.5,zero\n", ":2: epoch 'zero' is not an integer")]
    [InlineData("step,loss,grad_norm\n1,0.5,big\n", ":2: grad_norm 'big' is not a number")]
    [InlineData("step,loss,batch_size\n1,0.5,-3\n", ":2: batch_size -3 is negative")]
    [InlineData("step,loss,loss\n1,0.5,0.5\n", ":1: duplicate column 'loss'")]
    [InlineData("step,loss\n", ": no data rows after the header")]
    [InlineData("", ": the file is empty; expected a CSV header naming at least the columns step and loss")]
    [InlineData("\n\n", ": the file is empty; expected a CSV header naming at least the columns step and loss")]
    public void Bad_input_is_a_clear_error_naming_the_file_and_line_with_exit_code_2(string content, string message)
    {
        var log = File("log.csv", content);

        var (code, output, error) = Run("analyze", log);

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal($"batchguard: {log}{message}", error.Trim());
    }

    [Fact]
    public void A_file_that_does_not_exist_is_an_error_and_the_other_files_are_still_analysed()
    {
        var missing = Path.Combine(_folder, "missing.csv");
        var good = SpikyLog();

        var (code, output, error) = Run("analyze", missing, good, "--format", "json");

        Assert.Equal(2, code);
        Assert.Equal($"batchguard: {missing}: file not found", error.Trim());
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Blank_lines_optional_empty_cells_and_integral_float_steps_are_accepted()
    {
        var log = File("loose.csv", "step,loss,batch_size,epoch\r\n\r\n1.0,0.5,,\r\n\r\n2,0.5,64,0\r\n");

        var (code, output, error) = Run("analyze", log, "--format", "json");

        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal(2, JsonDocument.Parse(output).RootElement.GetProperty("steps").GetInt64());
    }

    [Fact]
    public void Given_batch_size_and_epoch_length_are_used_for_the_diagnosis()
    {
        var log = SpikyLog();

        var (_, output, _) = Run("analyze", log, "--format", "json", "--batch-size", "128", "--steps-per-epoch", "25", "--drop-last");

        var diagnosis = JsonDocument.Parse(output).RootElement.GetProperty("diagnosis");
        Assert.Equal(128, diagnosis.GetProperty("nominal_batch_size").GetInt32());
        Assert.Equal(25, diagnosis.GetProperty("period").GetInt32());
        Assert.DoesNotContain("drop_last", diagnosis.GetProperty("summary").GetString());
    }

    [Theory]
    [InlineData(new string[0], "usage: batchguard analyze")]
    [InlineData(new[] { "fit" }, "batchguard: unknown command 'fit'")]
    [InlineData(new[] { "analyze" }, "batchguard analyze: no FILE given")]
    [InlineData(new[] { "analyze", "x.csv", "--format", "xml" }, "batchguard analyze: --format must be json or text, not 'xml'")]
    [InlineData(new[] { "analyze", "x.csv", "--format" }, "batchguard analyze: --format needs a value")]
    [InlineData(new[] { "analyze", "x.csv", "--verbose" }, "batchguard analyze: unknown option '--verbose'")]
    [InlineData(new[] { "analyze", "x.csv", "--batch-size", "0" }, "batchguard analyze: --batch-size must be a positive integer, not '0'")]
    [InlineData(new[] { "analyze", "x.csv", "--steps-per-epoch=ten" }, "batchguard analyze: --steps-per-epoch must be a positive integer, not 'ten'")]
    [InlineData(new[] { "analyze", "x.csv", "--drop-last=yes" }, "batchguard analyze: --drop-last takes no value")]
    public void Usage_errors_exit_with_code_2_and_say_what_is_wrong(string[] args, string message)
    {
        var (code, output, error) = Run(args);

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.StartsWith(message, error);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_prints_the_usage_and_exits_with_code_0(string flag)
    {
        var (code, output, _) = Run(flag);

        Assert.Equal(0, code);
        Assert.Contains("usage: batchguard analyze FILE [FILE ...] [--format json|text]", output);
    }

    [Fact]
    public void After_a_double_dash_every_argument_is_a_file()
    {
        var (code, _, error) = Run("analyze", "--", "--format");

        Assert.Equal(2, code);
        Assert.Equal("batchguard: --format: file not found", error.Trim());
    }
}
