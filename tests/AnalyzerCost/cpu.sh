#!/usr/bin/env bash
# Analyzer cost as CPU time (docs/performance.md, "Analyzer cost"): compiles each generated project in a fresh compiler
# process under `perf record` and prints the CPU time spent in BatchGuard's analyzer code and everything it calls, next
# to the CPU time of the whole compile, and that time split by BatchGuard's callbacks (for JIT-compiled code only: perf
# cannot name the precompiled image's frames, so compare with the portable assembly to see the split). This is the
# profiler measurement the Roslyn team recommends for "how much slower did the analyzers make the build"; the
# per-analyzer table of -p:ReportAnalyzer=true (measure.sh) sums the wall-clock time of callbacks that share the CPU
# with the compiler's threads, so on a busy machine it counts waiting as well.
#
#   bash tests/AnalyzerCost/cpu.sh [runs=3] [analyzer folder to compare with, interleaved]
#   CPU_TRAINING_FILES=30 bash tests/AnalyzerCost/cpu.sh ...   (compile only the first 30 training files)
#
# Linux only; needs perf (perf_event_paranoid <= 2 as root, or 1 otherwise). Uses the solution measure.sh generated
# (artifacts/analyzer-cost), generating it when missing. With a second folder (e.g. the build output of an older
# commit's analyzers), the runs alternate between the two builds so that both see the same machine load.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}; other=${2:-}
out=$PWD/artifacts/analyzer-cost
rate=2000
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
command -v perf >/dev/null || { echo "cpu.sh: perf is not installed" >&2; exit 1; }

[ -d "$out/TorchTraining" ] || dotnet run tests/AnalyzerCost/GenerateSolution.cs -- "$out" 300 300
# The analyzers as a dotnet build on this machine gets them from the package (as in measure.sh).
analyzers="$out/analyzers"
bash tests/AnalyzerCost/packaged-analyzers.sh "$analyzers"
work=$out/cpu; mkdir -p "$work"

for project in TorchTraining PlainCode; do
  # The compiler's exact command line, from a build with the SDK's own arguments.
  dotnet restore "$out/$project" -v:q -p:BatchGuardAnalyzersDir="$analyzers" >/dev/null
  UseSharedCompilation=false dotnet build "$out/$project" -c Release --no-restore --no-incremental -nologo -v:d \
    -p:BatchGuardAnalyzersDir="$analyzers" >"$work/$project-build.log" 2>&1
  line=$(grep -m1 -E '^\s+\S+/Roslyn/bincore/csc ' "$work/$project-build.log" | sed -E 's/^\s+//')
  [ -n "$line" ] || { echo "cpu.sh: no csc command line in $work/$project-build.log" >&2; exit 1; }
  csc=${line%% *}
  printf '%s\n' "${line#* }" >"$work/$project-this.rsp"
  if [ -n "${CPU_TRAINING_FILES:-}" ] && [ "$project" = TorchTraining ]; then
    # Only the first N training files (the same command line, fewer sources): separates the fixed cost (JIT, first
    # use) from the cost per file, e.g. CPU_TRAINING_FILES=30 against the full 300.
    tr ' ' '\n' <"$work/$project-this.rsp" | awk -v keep="$CPU_TRAINING_FILES" \
      'match($0, /Experiment[0-9]+\.cs/) { n = substr($0, RSTART + 10, RLENGTH - 13) + 0; if (n >= keep) next } { print }' |
      tr '\n' ' ' >"$work/$project-this.rsp.kept" && mv "$work/$project-this.rsp.kept" "$work/$project-this.rsp"
  fi
  variants="this"
  if [ -n "$other" ]; then
    sed "s#$analyzers/#$other/#g" "$work/$project-this.rsp" >"$work/$project-other.rsp"
    variants="other this"
  fi
  for run in $(seq 1 "$runs"); do
    order=$variants; [ -n "$other" ] && [ $((run % 2)) -eq 0 ] && order="this other"  # alternate which goes first
    for variant in $order; do
      touch "$work/start"
      (cd "$out/$project" && DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 \
        perf record -q -F "$rate" -g -o "$work/perf.data" -- "$csc" "@$work/$project-$variant.rsp" >"$work/csc.out" 2>&1) ||
        { echo "cpu.sh: the compile failed, see $work/csc.out" >&2; exit 1; }
      perf script -i "$work/perf.data" -F comm,tid,time,ip,sym,dso 2>/dev/null >"$work/perf.txt"
      find /tmp -maxdepth 1 -name 'perf-*.map' -newer "$work/start" -delete  # the runtime's map of this compile's JIT code
      echo "$project $variant run $run: $(dotnet run --file tests/AnalyzerCost/PerfCpu.cs -- "$rate" "$work/perf.txt" | head -2)"
    done
  done
done
rm -f "$work/perf.data" "$work/perf.txt"
