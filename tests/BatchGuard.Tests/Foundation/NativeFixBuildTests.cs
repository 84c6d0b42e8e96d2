using System.Diagnostics;

namespace BatchGuard.Tests.Foundation;

/// <summary>The build-time native fix must never break a user's build, whatever it finds in the output folder.</summary>
public sealed class NativeFixBuildTests
{
    [Theory]
    [InlineData("not an ELF file at all")]
    [InlineData("truncated ELF header")]
    [InlineData("section headers beyond the end of the file")]
    public void A_malformed_libLibTorchSharp_in_the_output_is_left_alone_and_the_build_succeeds(string kind)
    {
        string repo = RepositoryRoot();
        string folder = Path.Combine(Path.GetTempPath(), "batchguard-nativefix-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            byte[] library = Malformed(kind);
            File.WriteAllBytes(Path.Combine(folder, "libLibTorchSharp.so"), library);
            File.WriteAllText(Path.Combine(folder, "Probe.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net8.0</TargetFramework>
                    <EnableDefaultCompileItems>false</EnableDefaultCompileItems>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <None Include="libLibTorchSharp.so" CopyToOutputDirectory="PreserveNewest" />
                  </ItemGroup>
                  <Import Project="{Path.Combine(repo, "build", "TorchSharpNativeFix.targets")}" />
                </Project>
                """);
            File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project />");
            File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />");
            File.WriteAllText(Path.Combine(folder, "Directory.Packages.props"), "<Project />");

            var (exitCode, output) = Run(folder, "build", "-c", "Release", "-warnaserror", "-v:n");

            Assert.True(exitCode == 0, output);
            string copied = Directory.EnumerateFiles(Path.Combine(folder, "bin"), "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
            Assert.Equal(library, File.ReadAllBytes(copied));
            if (OperatingSystem.IsLinux()) Assert.Contains("BatchGuard", output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static byte[] Malformed(string kind)
    {
        switch (kind)
        {
            case "not an ELF file at all":
                return System.Text.Encoding.ASCII.GetBytes("#!/bin/sh\necho hello\n");
            case "truncated ELF header":
                return new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0 };
            default:
                var header = new byte[64];
                new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }.CopyTo(header, 0);
                BitConverter.GetBytes(1_000_000UL).CopyTo(header, 0x28); // e_shoff far past the end
                BitConverter.GetBytes((ushort)64).CopyTo(header, 0x3A);
                BitConverter.GetBytes((ushort)3).CopyTo(header, 0x3C);
                return header;
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BatchGuard.sln"))) return dir.FullName;
        throw new InvalidOperationException("BatchGuard.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int ExitCode, string Output) Run(string folder, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}
