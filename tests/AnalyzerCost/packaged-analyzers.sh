#!/usr/bin/env bash
# Packs BatchGuard.Analyzers and lays out, in <folder>, the two analyzer assemblies a `dotnet build` on this machine
# gets from the package: the code fixes, and the analyzer assembly that the package's
# buildTransitive/BatchGuard.Analyzers.targets chooses (the ReadyToRun image for this SDK's runtime major version and
# platform, when the package has one; the portable assembly otherwise). Prints which one it took.
#
#   bash tests/AnalyzerCost/packaged-analyzers.sh <folder>
#
# Used by measure.sh and cpu.sh, whose generated projects load the analyzers from a folder ($(BatchGuardAnalyzersDir)).
set -euo pipefail
cd "$(dirname "$0")/../.."
folder=$1
rm -rf "$folder" && mkdir -p "$folder/package"
dotnet pack analyzers/BatchGuard.Analyzers.Package -c Release -o "$folder/package" -v:q -nologo >/dev/null
unzip -q -o "$folder"/package/BatchGuard.Analyzers.*.nupkg -d "$folder/package/content"
cp "$folder"/package/content/analyzers/dotnet/cs/*.dll "$folder/"
# The same choice as the targets file, from the same SDK properties: net<runtime major>.0/<portable platform>.
project=analyzers/BatchGuard.Analyzers.Package/BatchGuard.Analyzers.Package.csproj
target="net$(dotnet msbuild "$project" -getProperty:BundledNETCoreAppTargetFrameworkVersion)/$(dotnet msbuild "$project" -getProperty:NETCoreSdkPortableRuntimeIdentifier)"
image="$folder/package/content/readytorun/$target/BatchGuard.Analyzers.dll"
if [ -f "$image" ]; then
  cp "$image" "$folder/"
  echo "packaged analyzers: ReadyToRun image readytorun/$target" >&2
else
  echo "packaged analyzers: portable assembly (no ReadyToRun image for $target)" >&2
fi
