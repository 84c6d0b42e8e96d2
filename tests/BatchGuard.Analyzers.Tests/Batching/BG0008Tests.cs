using BatchGuard.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Testing;
using VerifyBatching = BatchGuard.Analyzers.Tests.Infrastructure.VerifyFamily<BatchGuard.Analyzers.BatchDegree.BatchDegreeAnalyzer, BatchGuard.Analyzers.Tests.Infrastructure.BatchingRules>;

namespace BatchGuard.Analyzers.Tests.Batching;

/// <summary>
/// BG0008 depends on the referenced TorchSharp's version. An old TorchSharp cannot be referenced here, so these tests
/// compile a small assembly named TorchSharp, with the real namespaces, type names and DataLoader signatures, at the
/// version under test. The negative test against the real TorchSharp 0.107 is in the same file.
/// </summary>
public sealed class BG0008Tests
{
    private const string TorchSharpSurface = """
        using System.Collections;
        using System.Collections.Generic;
        [assembly: System.Reflection.AssemblyVersion("VERSION")]
        namespace TorchSharp
        {
            public static partial class torch
            {
                public class Tensor { }
                public class Device { }
                public static partial class utils
                {
                    public static partial class data
                    {
                        public abstract class Dataset { public abstract long Count { get; } }
                        public static Modules.DataLoader DataLoader(Dataset dataset, int batchSize, bool shuffle = false, Device device = null, int? seed = null, int num_worker = 1, bool drop_last = false) => null;
                    }
                }
            }
            namespace Modules
            {
                public class DataLoader<T, S> : IEnumerable<S>
                {
                    public IEnumerator<S> GetEnumerator() => null;
                    IEnumerator IEnumerable.GetEnumerator() => null;
                }
                public class DataLoader : DataLoader<Dictionary<string, torch.Tensor>, Dictionary<string, torch.Tensor>>
                {
                    public DataLoader(torch.utils.data.Dataset dataset, int batchSize, bool shuffle = false, torch.Device device = null, int? seed = null, int num_worker = 1, bool drop_last = false) { }
                }
            }
        }
        """;

    /// <summary>Compiled against the same .NET 8 reference assemblies as the code under test.</summary>
    private static async Task<MetadataReference> TorchSharpAt(string version)
    {
        var references = await TestReferences.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None);
        var compilation = CSharpCompilation.Create("TorchSharp",
            new[] { CSharpSyntaxTree.ParseText(TorchSharpSurface.Replace("VERSION", version)) },
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Disable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        return MetadataReference.CreateFromImage(image.ToArray());
    }

    private const string UserCode = """
        using TorchSharp;
        using TorchSharp.Modules;

        static class Loaders
        {
            public static DataLoader Train(torch.utils.data.Dataset data) => torch.utils.data.DataLoader(data, 32, shuffle: true, {|#0:drop_last: true|});
            public static DataLoader Valid(torch.utils.data.Dataset data) => new DataLoader(data, 32, drop_last: false);
        }
        """;

    private static async Task RunAgainst(string version, params DiagnosticResult[] expected)
    {
        var test = new VerifyBatching.Test { TestCode = UserCode };
        test.TestState.AdditionalReferences.Clear();
        test.TestState.AdditionalReferences.Add(await TorchSharpAt(version));
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    [Fact]
    public async Task Drop_last_true_on_TorchSharp_0_102_4_is_reported_with_the_version()
    {
        await RunAgainst("0.102.4.0", VerifyBatching.Diagnostic("BG0008").WithLocation(0).WithArguments("0.102.4"));
    }

    [Fact]
    public async Task Drop_last_true_on_TorchSharp_0_102_5_and_later_is_not_reported()
    {
        await RunAgainst("0.102.5.0");
        await RunAgainst("0.107.0.0");
    }

    [Fact]
    public async Task Drop_last_true_on_the_real_TorchSharp_0_107_is_not_reported()
    {
        await VerifyBatching.Diagnostics(UserCode.Replace("{|#0:", "").Replace("|}", ""));
    }
}
