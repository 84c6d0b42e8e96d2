using System.Text.Json;
using EpochSpikes;

namespace BatchGuard.Tests.Samples;

/// <summary>The README's main command, in quick mode: the bug shows, and every fix removes the epoch-boundary spike.</summary>
public sealed class EpochSpikesSampleTests
{
    [Fact]
    public void Quick_run_spikes_only_in_the_buggy_configuration_and_writes_all_outputs()
    {
        string outDir = Path.Combine(Path.GetTempPath(), "batchguard-epochspikes-" + Guid.NewGuid().ToString("N"));
        var output = new StringWriter();
        var error = new StringWriter();
        try
        {
            int exit = EpochSpikesApp.Run(new[] { "--quick", "--out", outDir }, output, error);

            Assert.True(exit == 0, error.ToString());
            using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
            var byName = results.RootElement.GetProperty("configurations").EnumerateArray()
                .ToDictionary(c => c.GetProperty("name").GetString()!, c => c);

            Assert.Equal(new[] { "buggy", "drop_last", "fixed", "guarded" }, byName.Keys.Order());
            Assert.True(byName["buggy"].GetProperty("spike_ratio").GetDouble() > 3.0, output.ToString());
            Assert.True(byName["guarded"].GetProperty("rescaled").GetInt32() > 0, "the guard should have repaired the short batches");
            Assert.Contains("normalised twice", byName["buggy"].GetProperty("diagnosis").GetString());
            foreach (string fixedConfiguration in byName.Keys.Where(k => k != "buggy"))
            {
                double ratio = byName[fixedConfiguration].GetProperty("spike_ratio").GetDouble();
                Assert.True(ratio is > 0.7 and < 1.4, $"{fixedConfiguration}: spike ratio {ratio}\n{output}");
            }
            Assert.True(File.Exists(Path.Combine(outDir, "loss-curves.svg")));
            foreach (string name in byName.Keys)
            {
                string[] log = File.ReadAllLines(Path.Combine(outDir, name + ".csv"));
                Assert.Equal("step,epoch,batch_size,loss,grad_norm,loss_scale", log[0]);
                Assert.True(log.Length > 50);
            }
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public void Unknown_argument_is_rejected_with_exit_code_2_and_a_message_naming_it()
    {
        var error = new StringWriter();
        int exit = EpochSpikesApp.Run(new[] { "--bogus" }, new StringWriter(), error);
        Assert.Equal(2, exit);
        Assert.Contains("--bogus", error.ToString());
    }
}
