using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace BatchGuard.Analyzers.Tests.Infrastructure;

/// <summary>What the compiler under test sees: .NET 8 reference assemblies and the real TorchSharp 0.107 metadata.</summary>
internal static class TestReferences
{
    public static readonly ReferenceAssemblies Net80 = ReferenceAssemblies.Net.Net80;

    public static readonly string TorchSharpPath = typeof(TestReferences).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "TorchSharpPath").Value!;

    public static readonly MetadataReference TorchSharp = MetadataReference.CreateFromFile(TorchSharpPath);

    /// <summary>Usings most TorchSharp code starts with; prepend to test sources that want them.</summary>
    public const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using F = TorchSharp.torch.nn.functional;

        """;
}
