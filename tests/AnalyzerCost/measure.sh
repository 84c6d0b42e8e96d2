#!/usr/bin/env bash
# Analyzer cost benchmark (docs/performance.md, "Analyzer cost"). Generates a large solution (TorchSharp training code
# plus ordinary code), builds both projects with the compiler's analyzer timing (-p:ReportAnalyzer=true) and prints,
# per run and project, BatchGuard's analyzer time, all analyzers' time and the Csc task's time; then the median share of
# BatchGuard in the compile time, per project and for the solution (both projects' BatchGuard time over both Csc times).
#
# Two compiler set-ups ("modes"):
#   cold    every compile is a fresh csc process (UseSharedCompilation=false, as some CI images and this machine's
#           environment set): the analyzers' code is loaded (and, without a usable precompiled image, JIT-compiled) in every compile.
#   server  the SDK's default: the build runs the compiles in the compiler server (VBCSCompiler), which the two projects
#           share. The server is shut down before each run, so every run pays its start and the analyzers' JIT once,
#           like a fresh CI job; the training project is compiled first, so it pays them. On Linux the server loads
#           analyzers from a stream and never runs the ReadyToRun image's precompiled code (docs/performance.md, sixth
#           pass): there "this" and a portable "other" run the same JIT-compiled code, and their difference is noise.
#   warm    the SDK's default as a developer sees it on the second and later builds: one compiler server for the whole
#           series, started by one build of both projects (not counted) with each analyzer build, so the measured runs
#           reuse a compiler and analyzers that are already loaded and compiled.
#
#   bash tests/AnalyzerCost/measure.sh [runs=5] [ml files=300] [plain files=300] [modes="cold server" (or warm)] [other analyzers]
#
# "this" is the analyzers as packed (tests/AnalyzerCost/packaged-analyzers.sh). With a fifth argument, the folder of
# another build of the analyzers (e.g. an older commit's analyzers/BatchGuard.Analyzers.CodeFixes/bin/Release/netstandard2.0,
# or this commit's, i.e. the portable assembly without the ReadyToRun image), every run builds both projects with that build
# ("other") and with this one ("this"), in alternating order, so that both see the same machine load: on a shared
# machine the shares move by a factor of 1.5 between runs minutes apart, and only an interleaved comparison is fair.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}; ml=${2:-300}; plain=${3:-300}; modes=${4:-cold server}; other=${5:-}
out=artifacts/analyzer-cost
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

rm -rf "$out"
# "this": the analyzers as a dotnet build on this machine gets them from the package (the ReadyToRun image for this
# SDK where the package has one).
analyzers="$PWD/$out/analyzers"
bash tests/AnalyzerCost/packaged-analyzers.sh "$analyzers"
dotnet run tests/AnalyzerCost/GenerateSolution.cs -- "$out" "$ml" "$plain"
for project in TorchTraining PlainCode; do
  dotnet restore "$out/$project" -v:q -p:BatchGuardAnalyzersDir="$analyzers" >/dev/null
done

variants="this"; [ -n "$other" ] && variants="other this"
dir_of() { if [ "$1" = other ]; then echo "$other"; else echo "$analyzers"; fi; }

median() { sort -g | awk '{a[NR]=$1} END { print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2 }'; }

for mode in $modes; do
  shared=false; [ "$mode" != cold ] && shared=true
  results="$out/$mode.tsv"; : >"$results"
  if [ "$mode" = warm ]; then
    dotnet build-server shutdown >/dev/null 2>&1
    for variant in $variants; do
      for project in TorchTraining PlainCode; do
        UseSharedCompilation=true dotnet build "$out/$project" -c Release --no-restore --no-incremental -nologo -v:q \
          -p:BatchGuardAnalyzersDir="$(dir_of "$variant")" >/dev/null 2>&1
      done
    done
  fi
  for run in $(seq 1 "$runs"); do
   # Alternate which build goes first (other, this; this, other; ...): the second build of a pair can be
   # systematically slower or faster on a shared machine.
   order=$variants; [ -n "$other" ] && [ $((run % 2)) -eq 0 ] && order="this other"
   for variant in $order; do
    [ "$mode" = server ] && dotnet build-server shutdown >/dev/null 2>&1
    for project in TorchTraining PlainCode; do
      log="$out/$project-$mode-$variant-run$run.log"
      # --no-incremental: the compiler must run every time; -v:d prints the analyzer timing table.
      UseSharedCompilation=$shared dotnet build "$out/$project" -c Release --no-restore --no-incremental -nologo -v:d \
        -clp:PerformanceSummary -p:ReportAnalyzer=true -p:BatchGuardAnalyzersDir="$(dir_of "$variant")" >"$log" 2>&1
      grep -q "CompilerServer: $( [ "$mode" != cold ] && echo server || echo tool )" "$log" ||
        { echo "$log: the compile did not run in the expected way ($mode)" >&2; exit 1; }
      batchguard=$(grep -E '^\s+[0-9.<]+\s+[0-9<]+\s+BatchGuard\.Analyzers, Version' "$log" | awk '{print $1}' | sed 's/<//')
      total=$(grep -oE 'Total analyzer execution time: [0-9.]+' "$log" | awk '{print $NF}')
      csc=$(grep -E '^\s+[0-9]+ ms\s+Csc\s' "$log" | awk '{print $1/1000}')
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$project" "${batchguard:-0}" "$total" "$csc" "$variant" >>"$results"
      printf '%-6s %-5s %-13s run %d: BatchGuard %6ss  all analyzers %6ss  Csc %7ss  BatchGuard/Csc %5.2f%%\n' "$mode" "$variant" \
        "$project" "$run" "${batchguard:-0}" "$total" "$csc" "$(awk -v b="${batchguard:-0}" -v c="$csc" 'BEGIN { print 100 * b / c }')"
    done
   done
  done
  for variant in $variants; do
    label=$mode; [ -n "$other" ] && label="$mode $variant"
    for project in TorchTraining PlainCode; do
      echo "$label $project: median BatchGuard share of compile time $(awk -v p="$project" -v v="$variant" '$2 == p && $6 == v { print 100 * $3 / $5 }' "$results" | median)%"
    done
    echo "$label solution (both projects): median BatchGuard share of compile time $(awk -v v="$variant" '$6 == v { b[$1] += $3; c[$1] += $5 } END { for (r in b) print 100 * b[r] / c[r] }' "$results" | median)%"
  done
  if [ -n "$other" ]; then
    # The paired statistic: per run, this build's solution share minus the other's (both measured side by side).
    echo "$mode solution, per run this minus other: median $(awk '{ b[$1 " " $6] += $3; c[$1 " " $6] += $5; r[$1] = 1 }
      END { for (k in r) print 100 * b[k " this"] / c[k " this"] - 100 * b[k " other"] / c[k " other"] }' "$results" | median) points"
  fi
  grep -E 'BatchGuard\.Analyzers\.[A-Za-z.]+Analyzer \(' "$out/TorchTraining-$mode-this-run$runs.log" | sed 's/^ */    last TorchTraining run: /' || true
done
