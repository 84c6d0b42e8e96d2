// Reads `perf script -F comm,tid,time,ip,sym,dso` output of a compile (tests/AnalyzerCost/cpu.sh) and prints the CPU
// time spent in BatchGuard's analyzer code and everything it called (samples with a BatchGuard frame on the stack),
// which of BatchGuard's callbacks it was spent in, what it ends in (JIT, the runtime, Roslyn, BatchGuard's own code),
// and the BatchGuard methods with the most inclusive time:
//   dotnet run --file tests/AnalyzerCost/PerfCpu.cs -- <sample rate in Hz> <perf script text> [top methods]
// Frames of JIT-compiled code are named through the runtime's perf map (DOTNET_PerfMapEnabled=1); precompiled
// (ReadyToRun) frames are not, so with the package's image the callbacks are counted as "precompiled code".
using System.Text.RegularExpressions;

if (args.Length < 2) throw new ArgumentException("usage: PerfCpu <sample rate in Hz> <perf script text> [top methods]");
var hz = double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
var top = args.Length > 2 ? int.Parse(args[2]) : 0;

var frame = new Regex(@"^\S+ (?<sym>.*) \((?<dso>[^()]*)\)$");
var method = new Regex(@"\[BatchGuard\.Analyzers\] (?<name>[^(\[]+)");
var total = 0;
var batchGuard = 0;
var endsIn = new Dictionary<string, int>();
var byCallback = new Dictionary<string, int>();
var inclusive = new Dictionary<string, int>();
var stack = new List<(string Sym, string Dso)>();

foreach (var line in File.ReadLines(args[1]).Append(""))
{
    if (line.Length > 0 && char.IsWhiteSpace(line[0]))
    {
        var match = frame.Match(line.Trim());
        stack.Add(match.Success ? (match.Groups["sym"].Value, match.Groups["dso"].Value) : (line.Trim(), "?"));
        continue;
    }
    if (stack.Count > 0)
    {
        total++;
        var ours = stack.Where(f => f.Sym.Contains("[BatchGuard.Analyzers]", StringComparison.Ordinal) ||
                                    f.Dso.EndsWith("BatchGuard.Analyzers.dll", StringComparison.Ordinal)).ToList();
        if (ours.Count > 0)
        {
            batchGuard++;
            Count(endsIn, Category(stack[0]));
            Count(byCallback, Callback(ours));
            foreach (var name in ours.Select(f => method.Match(f.Sym) is { Success: true } m ? m.Groups["name"].Value.Trim() : "(precompiled code)").Distinct())
                Count(inclusive, name);
        }
    }
    stack.Clear();
}

Console.WriteLine($"BatchGuard (its code and what it calls): {batchGuard / hz:F3} s CPU of {total / hz:F3} s sampled ({100.0 * batchGuard / Math.Max(total, 1):F1} %)");
Console.WriteLine("  by callback: " + string.Join(", ", byCallback.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value / hz:F3} s")));
foreach (var (category, samples) in endsIn.OrderByDescending(p => p.Value))
    Console.WriteLine($"  ends in {category,-40} {samples / hz:F3} s");
foreach (var (name, samples) in inclusive.OrderByDescending(p => p.Value).Take(top))
    Console.WriteLine($"  {samples / hz,7:F3} s  {name}");

static void Count(Dictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

// What a sample's innermost frame is: the JIT, the runtime (type loading, stubs, GC), Roslyn, the BCL, or BatchGuard.
static string Category((string Sym, string Dso) leaf)
{
    var dso = Path.GetFileName(leaf.Dso);
    if (dso == "libclrjit.so") return "the JIT compiler";
    if (dso == "libcoreclr.so") return "the runtime (native)";
    if (dso.StartsWith("perf-", StringComparison.Ordinal))
        return leaf.Sym.Contains("[BatchGuard.Analyzers]", StringComparison.Ordinal) ? "BatchGuard code (JIT-compiled)"
            : leaf.Sym.StartsWith("stub", StringComparison.Ordinal) ? "runtime stubs" : "other JIT-compiled code";
    if (dso.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal)) return "Roslyn (precompiled)";
    if (dso.StartsWith("System.", StringComparison.Ordinal)) return "the BCL (precompiled)";
    if (dso == "BatchGuard.Analyzers.dll") return "BatchGuard code (precompiled)";
    return leaf.Dso.Contains("kernel", StringComparison.Ordinal) ? "the kernel" : "other native code";
}

// Which of BatchGuard's callbacks a sample was taken in, from the methods on its stack (innermost first); the checks go
// from the passes that call into others (the compilation end reads the blocks' evaluations) to the plainer ones.
static string Callback(List<(string Sym, string Dso)> ours)
{
    bool Has(string method) => ours.Any(f => f.Sym.Contains(method, StringComparison.Ordinal));
    if (!ours.Any(f => f.Sym.Contains("[BatchGuard.Analyzers]", StringComparison.Ordinal))) return "precompiled code";
    if (Has("CompilationIndex::Analysis") || Has("::ReportAtEnd")) return "compilation end";
    if (Has("IndexedBlock::LocalAnalysis")) return "as-you-type evaluations";
    if (Has("CompilationIndex::Add")) return "indexing blocks";
    if (Has("GradientClippingAnalyzer")) return "loops (BG0006/BG0007)";
    if (Has("DataLoaderOrderAnalyzer")) return "loader factories (BG0009/BG0010)";
    return Has("OnCompilationStart") || Has("TorchSharpAnalyzer") ? "compilation start" : "other";
}
