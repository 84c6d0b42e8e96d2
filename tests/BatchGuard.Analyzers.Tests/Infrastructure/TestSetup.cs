using System.Runtime.CompilerServices;

namespace BatchGuard.Analyzers.Tests.Infrastructure;

internal static class TestSetup
{
    /// <summary>Analyzers swallow their own failures in users' builds; in tests those failures must surface.</summary>
    [ModuleInitializer]
    internal static void RethrowAnalyzerFailures() => AnalyzerSafety.RethrowForTests = true;
}
