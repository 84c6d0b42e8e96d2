namespace BatchGuard.Tests.Foundation;

public sealed class TorchNativeBackendTests
{
    [Fact]
    public void Explanation_of_a_GLIBCXX_failure_names_the_missing_version_and_the_fix()
    {
        var failure = new NotSupportedException("The libtorch-cpu native library doesn't contain a reference to libtorch-cpu-linux-x64");
        string text = TorchNativeBackend.Explain(failure,
            "/app/libLibTorchSharp.so: /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found");

        Assert.Contains("GLIBCXX_3.4.32", text);
        Assert.Contains("libstdc++", text);
        Assert.Contains("README", text);
        Assert.Contains("TorchSharp said", text);
    }

    [Fact]
    public void Explanation_of_a_missing_bundle_says_which_package_to_reference()
    {
        var failure = new DllNotFoundException("LibTorchSharp");
        string text = TorchNativeBackend.Explain(failure, "libLibTorchSharp.so was not found next to the application");

        Assert.Contains("TorchSharp-cpu", text);
        Assert.Contains("libLibTorchSharp.so was not found", text);
    }
}
