#!/usr/bin/env bash
# Analyzer cost benchmark (docs/performance.md, "Analyzer cost"). Generates a large solution, builds each project
# with the compiler's analyzer timing (-p:ReportAnalyzer=true) and prints, per run, BatchGuard's analyzer time, all
# analyzers' time and the Csc task's time, then the median share of BatchGuard in the compile time.
#   bash tests/AnalyzerCost/measure.sh [runs=5] [ml files=300] [plain files=300]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}; ml=${2:-300}; plain=${3:-300}
out=artifacts/analyzer-cost
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build analyzers/BatchGuard.Analyzers.CodeFixes -c Release -v:q -nologo >/dev/null
analyzers="$PWD/analyzers/BatchGuard.Analyzers.CodeFixes/bin/Release/netstandard2.0"
rm -rf "$out"
dotnet run tests/AnalyzerCost/GenerateSolution.cs -- "$out" "$ml" "$plain"
for project in TorchTraining PlainCode; do
  dotnet restore "$out/$project" -v:q -p:BatchGuardAnalyzersDir="$analyzers" >/dev/null
done

for project in TorchTraining PlainCode; do
  shares=()
  for run in $(seq 1 "$runs"); do
    log="$out/$project-run$run.log"
    # --no-incremental: the compiler must run every time; -v:d prints the analyzer timing table.
    dotnet build "$out/$project" -c Release --no-restore --no-incremental -nologo -v:d -clp:PerformanceSummary \
      -p:ReportAnalyzer=true -p:BatchGuardAnalyzersDir="$analyzers" >"$log" 2>&1
    batchguard=$(grep -E '^\s+[0-9.<]+\s+[0-9<]+\s+BatchGuard\.Analyzers, Version' "$log" | awk '{print $1}' | sed 's/<//')
    total=$(grep -oE 'Total analyzer execution time: [0-9.]+' "$log" | awk '{print $NF}')
    csc=$(grep -E '^\s+[0-9]+ ms\s+Csc\s' "$log" | awk '{print $1/1000}')
    share=$(awk -v b="${batchguard:-0}" -v c="$csc" 'BEGIN { printf "%.2f", 100 * b / c }')
    shares+=("$share")
    printf '%-13s run %d: BatchGuard %6ss  all analyzers %6ss  Csc %7ss  BatchGuard/Csc %5s%%\n' \
      "$project" "$run" "${batchguard:-0}" "$total" "$csc" "$share"
  done
  median=$(printf '%s\n' "${shares[@]}" | sort -g | awk '{a[NR]=$1} END { print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2 }')
  echo "$project: median BatchGuard share of compile time ${median}%"
  grep -E 'BatchGuard\.Analyzers\.[A-Za-z.]+Analyzer \(' "$out/$project-run$runs.log" | sed 's/^ */    last run: /' || true
done
