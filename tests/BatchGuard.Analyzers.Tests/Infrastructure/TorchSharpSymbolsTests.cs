using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace BatchGuard.Analyzers.Tests.Infrastructure;

/// <summary>
/// Whether a compilation references TorchSharp is decided from its references' names, without binding them
/// (TorchSharpSymbols, remarks); the types resolve on first use. These pin down both halves.
/// </summary>
public sealed class TorchSharpSymbolsTests
{
    private static readonly MetadataReference CoreLibrary = MetadataReference.CreateFromFile(typeof(object).Assembly.Location);

    private static CSharpCompilation Compilation(params MetadataReference[] references) =>
        CSharpCompilation.Create("Probe", new[] { CSharpSyntaxTree.ParseText("class C { }") }, references);

    [Fact]
    public void A_TorchSharp_dll_reference_is_recognised_and_its_types_and_version_resolve()
    {
        var compilation = Compilation(CoreLibrary, TestReferences.TorchSharp);

        var symbols = TorchSharpSymbols.For(compilation);

        Assert.NotNull(symbols);
        Assert.Same(symbols, TorchSharpSymbols.For(compilation)); // shared by every analyzer of the compilation
        Assert.Equal("Tensor", symbols!.Tensor?.Name);
        Assert.NotNull(symbols.DataLoaderOfT);
        Assert.NotNull(symbols.Optimizer);
        // The version read from the file (usable at compilation start) is the one binding gives.
        var bound = ((IAssemblySymbol)compilation.GetAssemblyOrModuleSymbol(TestReferences.TorchSharp)!).Identity.Version;
        Assert.Equal(bound, symbols.ReferencedVersion);
        Assert.Equal(new Version(0, 107, 0, 0), symbols.TorchSharpVersion);
    }

    [Fact]
    public void A_compilation_without_TorchSharp_gets_no_symbols()
    {
        var compilation = Compilation(CoreLibrary);

        Assert.False(TorchSharpSymbols.IsReferenced(compilation));
        Assert.Null(TorchSharpSymbols.For(compilation));
        Assert.Null(TorchSharpSymbols.TryCreate(compilation));
    }

    [Fact]
    public void A_project_reference_to_an_assembly_named_TorchSharp_is_recognised()
    {
        var torchSharpProject = CSharpCompilation.Create("TorchSharp", new[] { CSharpSyntaxTree.ParseText("namespace TorchSharp { public static class torch { } }") },
            new[] { CoreLibrary });

        Assert.True(TorchSharpSymbols.IsReferenced(Compilation(CoreLibrary, torchSharpProject.ToMetadataReference())));
        Assert.False(TorchSharpSymbols.IsReferenced(Compilation(CoreLibrary, Compilation(CoreLibrary).ToMetadataReference())));
    }

    [Fact]
    public void An_image_without_a_file_name_is_resolved_by_binding()
    {
        // In memory, a reference has no name to go by: the analyzers start, and binding decides.
        var torchSharpImage = MetadataReference.CreateFromImage(File.ReadAllBytes(TestReferences.TorchSharpPath));
        var withTorchSharp = Compilation(CoreLibrary, torchSharpImage);
        Assert.True(TorchSharpSymbols.IsReferenced(withTorchSharp));
        Assert.Equal("Tensor", TorchSharpSymbols.TryCreate(withTorchSharp)?.Tensor?.Name);

        var otherImage = MetadataReference.CreateFromImage(File.ReadAllBytes(typeof(Enumerable).Assembly.Location));
        var withoutTorchSharp = Compilation(CoreLibrary, otherImage);
        Assert.True(TorchSharpSymbols.IsReferenced(withoutTorchSharp));
        Assert.Null(TorchSharpSymbols.For(withoutTorchSharp)!.Tensor);
        Assert.Null(TorchSharpSymbols.TryCreate(withoutTorchSharp));
    }

    [Fact]
    public void An_unnamed_image_listed_before_TorchSharp_does_not_hide_it()
    {
        var otherImage = MetadataReference.CreateFromImage(File.ReadAllBytes(typeof(Enumerable).Assembly.Location));
        var compilation = Compilation(CoreLibrary, otherImage, TestReferences.TorchSharp);

        var symbols = TorchSharpSymbols.TryCreate(compilation);

        Assert.Equal("Tensor", symbols?.Tensor?.Name);
        Assert.Equal(new Version(0, 107, 0, 0), symbols!.ReferencedVersion);
    }
}
