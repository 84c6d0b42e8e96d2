using TorchSharp;
using static TorchSharp.torch;

namespace BatchGuard.Tests.Foundation;

/// <summary>TorchSharp loads and trains in this build: the native fix works and the test host runs real libtorch.</summary>
public sealed class TorchSharpTrainingTests
{
    [Fact]
    public void Native_backend_loads_through_BatchGuard_check()
    {
        TorchNativeBackend.EnsureLoaded();
        using var t = ones(3);
        Assert.Equal(3f, t.sum().item<float>());
    }

    [Fact]
    public void Tiny_model_trained_with_SGD_momentum_reduces_its_loss()
    {
        TorchNativeBackend.EnsureLoaded();
        using var scope = NewDisposeScope();
        random.manual_seed(7);
        var x = randn(128, 4);
        var trueW = tensor(new float[] { 1.5f, -2f, 0.5f, 3f }).reshape(4, 1);
        var y = x.matmul(trueW) + 0.01 * randn(128, 1);

        var model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1));
        var optimizer = optim.SGD(model.parameters(), learningRate: 0.05, momentum: 0.9);
        var criterion = nn.MSELoss();

        float first = float.NaN, last = float.NaN;
        for (int step = 0; step < 60; step++)
        {
            optimizer.zero_grad();
            var loss = criterion.forward(model.forward(x), y);
            loss.backward();
            optimizer.step();
            float value = loss.item<float>();
            if (step == 0) first = value;
            last = value;
        }

        Assert.True(float.IsFinite(last));
        Assert.True(last < first * 0.1f, $"loss went from {first} to {last}");
    }

    [Fact]
    public void Native_library_in_build_output_has_weak_GLIBCXX_requirement_only_where_the_host_lacks_it()
    {
        string? lib = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).FirstOrDefault();
        if (!OperatingSystem.IsLinux() || lib is null) return; // nothing to patch on other platforms
        string? host = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        if (host is null) return;
        bool hostHasIt = File.ReadAllText(host, System.Text.Encoding.Latin1).Contains("GLIBCXX_3.4.32\0", StringComparison.Ordinal);

        ushort? flags = ElfVersionNeeds.FlagsOf(lib, "GLIBCXX_3.4.32");
        Assert.NotNull(flags); // TorchSharp 0.107 does reference it
        Assert.Equal(!hostHasIt, (flags!.Value & 0x2) != 0);
    }
}
