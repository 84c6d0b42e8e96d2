using System.Runtime.InteropServices;
using TorchSharp;

namespace BatchGuard;

/// <summary>
/// Checks that TorchSharp's native backend can be loaded, and turns TorchSharp's terse failure into an error that
/// says what is missing and how to fix it.
/// </summary>
public static class TorchNativeBackend
{
    private static readonly object Gate = new();
    private static bool _loaded;

    /// <summary>Loads the CPU backend, or throws <see cref="TorchNativeBackendException"/> explaining why it cannot.</summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                _loaded = true;
            }
            catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
            {
                throw new TorchNativeBackendException(Explain(e, ProbeNativeLibrary()), e);
            }
        }
    }

    /// <summary>Builds the user-facing explanation for a failed native load. Internal for tests.</summary>
    internal static string Explain(Exception failure, string? loaderError)
    {
        var text = new System.Text.StringBuilder();
        text.Append("TorchSharp's native backend (libtorch + LibTorchSharp) could not be loaded");
        text.Append(loaderError is null ? ". " : $": {loaderError}. ");
        if (loaderError is not null && loaderError.Contains("GLIBCXX_", StringComparison.Ordinal))
        {
            text.Append("The system C++ runtime (libstdc++) is older than the one TorchSharp was built with. ");
            text.Append("Fix: build with BatchGuard's build targets (they mark the unused GLIBCXX_3.4.32 requirement weak in your build output; ");
            text.Append("see README, 'TorchSharp on older Linux'), or install a newer libstdc++ (GCC 13+) on the host. ");
        }
        else if (loaderError is not null && loaderError.Contains("cannot open shared object", StringComparison.Ordinal))
        {
            text.Append("A native dependency is missing from the output folder. ");
            text.Append("Fix: reference a libtorch bundle in your application (TorchSharp-cpu, or a CUDA bundle such as TorchSharp-cuda-linux) and rebuild. ");
        }
        else
        {
            text.Append("Fix: reference exactly one libtorch bundle in your application (TorchSharp-cpu, or a CUDA bundle) and rebuild; ");
            text.Append("on Linux run 'ldd' on libLibTorchSharp.so in your output folder to see which library is missing. ");
        }
        text.Append("TorchSharp said: ").Append(Innermost(failure).Message);
        return text.ToString();
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>Asks the OS loader directly, which reports the real cause (a missing symbol version, a missing file).</summary>
    private static string? ProbeNativeLibrary()
    {
        string file = OperatingSystem.IsWindows() ? "LibTorchSharp.dll"
            : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        string rid = RuntimeInformation.RuntimeIdentifier;
        string[] candidates =
        {
            Path.Combine(AppContext.BaseDirectory, file),
            Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", file),
            Path.Combine(AppContext.BaseDirectory, "runtimes", OperatingSystem.IsLinux() ? "linux-x64" : rid, "native", file),
        };
        foreach (string candidate in candidates)
        {
            if (!File.Exists(candidate)) continue;
            try
            {
                NativeLibrary.Free(NativeLibrary.Load(candidate));
                return null;
            }
            catch (DllNotFoundException e)
            {
                return e.Message;
            }
            catch (BadImageFormatException e)
            {
                return e.Message;
            }
        }
        return $"{file} was not found next to the application";
    }
}

/// <summary>TorchSharp's native backend could not be loaded; the message says what is missing and how to fix it.</summary>
public sealed class TorchNativeBackendException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TorchNativeBackendException(string message, Exception inner) : base(message, inner) { }
}
