#!/usr/bin/env bash
# Where the compiler's per-analyzer figure (-p:ReportAnalyzer=true) comes from (docs/performance.md, "Analyzer cost"):
# builds the TorchTraining project of the generated solution with a measurement build of the analyzers that times each
# of BatchGuard's callbacks by kind (wall clock, as the compiler does) and notes the callbacks a garbage collection
# stopped, then prints them next to the compiler's figure for BatchGuard, per run.
#
#   bash tests/AnalyzerCost/callbacks.sh [runs=3] [modes="cold server"]
#
# The measurement build is this commit plus tests/AnalyzerCost/callback-timing.patch (a Stopwatch around every callback,
# written out at process exit), built in a temporary git worktree and laid out as the package gives it
# (packaged-analyzers.sh). It is never packed from main. If the patch no longer applies, refresh it against the changed
# files (it only wraps the registered callbacks). Modes as in measure.sh: cold (a csc process per compile) and server (a
# fresh compiler server per run).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}; modes=${2:-cold server}
repo=$PWD
out=$repo/artifacts/analyzer-cost
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

[ -d "$out/TorchTraining" ] || dotnet run tests/AnalyzerCost/GenerateSolution.cs -- "$out" 300 300
analyzers=$out/callback-analyzers
worktree=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$worktree" >/dev/null 2>&1 || true' EXIT
git worktree add -q --detach "$worktree" HEAD
git -C "$worktree" apply "$repo/tests/AnalyzerCost/callback-timing.patch" ||
  { echo "callbacks.sh: callback-timing.patch no longer applies to this commit; refresh it" >&2; exit 1; }
bash "$worktree/tests/AnalyzerCost/packaged-analyzers.sh" "$analyzers"
dotnet restore "$out/TorchTraining" -v:q -p:BatchGuardAnalyzersDir="$analyzers" >/dev/null

for mode in $modes; do
  shared=false; [ "$mode" = server ] && shared=true
  for run in $(seq 1 "$runs"); do
    times=$out/callbacks-$mode-run$run.tsv; log=$out/callbacks-$mode-run$run.log
    rm -f "$times"
    dotnet build-server shutdown >/dev/null 2>&1
    BATCHGUARD_CALLBACK_TIMES=$times UseSharedCompilation=$shared dotnet build "$out/TorchTraining" -c Release --no-restore \
      --no-incremental -nologo -nodeReuse:false -v:d -p:ReportAnalyzer=true -p:BatchGuardAnalyzersDir="$analyzers" >"$log" 2>&1
    dotnet build-server shutdown >/dev/null 2>&1  # the server writes its times when it exits
    for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$times" ] && break; sleep 1; done
    [ -s "$times" ] || { echo "callbacks.sh: no callback times from the compile ($log)" >&2; exit 1; }
    reported=$(grep -E '^\s+[0-9.<]+\s+[0-9<]+\s+BatchGuard\.Analyzers, Version' "$log" | awk '{print $1}')
    echo "$mode run $run: the compiler's figure for BatchGuard ${reported}s; callbacks (calls, wall s; of them stopped by a GC: calls, s):"
    awk -F'\t' '$1 == "process-gcs" { printf "    process GCs (gen0/1/2) %s, total pause %s s\n", $2, $3; next }
                $1 != "--" { printf "    %-18s %6d %7.3f   GC-stopped %3d %7.3f\n", $1, $2, $3, $4, $5 }' "$times"
  done
done
echo "(as-typed runs inside block-index: it is part of that figure, not added to it)"
