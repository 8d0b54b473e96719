#!/usr/bin/env bash
# Records the packages' public API changes in PublicAPI.Unshipped.txt (Microsoft.CodeAnalysis.PublicApiAnalyzers).
#
#   eng/public-api.sh                 every package (each src/NAME/ with a .csproj)
#   eng/public-api.sh src/AspNetCore  the packages named; a package without PublicAPI files gets them (tracking starts)
#   eng/public-api.sh --ship ...      afterwards, moves everything unshipped into PublicAPI.Shipped.txt (at a release)
#
# It rebuilds each package with the API rules as warnings, reads the analyzer's findings and writes them down:
# RS0016 (public, not recorded) adds the symbol to Unshipped; RS0017 (recorded, gone) removes it from Unshipped or,
# when it had shipped, records "*REMOVED*symbol" there. Review the diff: every line is a public API change.
# After merging branches that add public types, run it, build, and commit the PublicAPI files.
set -euo pipefail
cd "$(dirname "$0")/.."

ship=false
projects=()
for arg in "$@"; do
  case "$arg" in
    --ship) ship=true ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) projects+=("${arg%/}") ;;
  esac
done
if ((${#projects[@]} == 0)); then
  for dir in src/*/; do
    compgen -G "${dir}*.csproj" >/dev/null && projects+=("${dir%/}")
  done
fi

header='#nullable enable'

# Sorted, unique, header first; a file that holds only the header stays that way.
normalise() {
  local file=$1 body
  body=$(grep -vxF "$header" "$file" | sed '/^[[:space:]]*$/d' | LC_ALL=C sort -u || true)
  { echo "$header"; [[ -n "$body" ]] && printf '%s\n' "$body"; } > "$file.tmp"
  mv "$file.tmp" "$file"
}

for dir in "${projects[@]}"; do
  csproj=$(compgen -G "$dir/*.csproj" | head -n1 || true)
  if [[ -z "$csproj" ]]; then
    echo "$dir: no .csproj there; name a package folder such as src/Runtime" >&2
    exit 2
  fi
  shipped="$dir/PublicAPI.Shipped.txt"
  unshipped="$dir/PublicAPI.Unshipped.txt"
  for file in "$shipped" "$unshipped"; do
    [[ -f "$file" ]] || { echo "$header" > "$file"; echo "$file: created (the package's public API is tracked from now on)"; }
  done

  log=$(mktemp)
  # A full rebuild so the analyzers run even when the outputs are up to date; RS0016/RS0017 as warnings so every
  # finding is reported in one go (a global WarningsAsErrors replaces the list src/Directory.Build.props adds to).
  set +e
  dotnet build "$csproj" -c Release --no-incremental -nologo -v q -p:TreatWarningsAsErrors=false -p:WarningsAsErrors= >"$log" 2>&1
  status=$?
  set -e
  if ((status != 0)); then
    grep -E ': error ' "$log" | sort -u >&2 || cat "$log" >&2
    echo "$csproj: the build failed for another reason than the public API; fix that first" >&2
    rm -f "$log"
    exit 1
  fi

  project_tag="[$(realpath "$csproj")]"
  added=$(grep -F "$project_tag" "$log" | sed -nE "s/.*: warning RS0016: Symbol '(.*)' is not part of the declared public API.*/\1/p" | LC_ALL=C sort -u || true)
  removed=$(grep -F "$project_tag" "$log" | sed -nE "s/.*: warning RS0017: Symbol '(.*)' is part of the declared API, but is either not public or could not be found.*/\1/p" | LC_ALL=C sort -u || true)
  undocumented=$(grep -F "$project_tag" "$log" | grep -F ': warning CS1591:' | sed -E 's/^([^(]*)\(.*warning CS1591: (.*) \[.*/\1: \2/' | sort -u || true)
  rm -f "$log"
  if [[ -n "$undocumented" ]]; then
    # A tracked package ships its XML docs: the warnings-as-errors build fails on these until they are written.
    printf '%s\n' "$undocumented" >&2
    echo "$dir: $(grep -c . <<< "$undocumented") public members have no XML doc comment (CS1591); the build fails until they do" >&2
  fi

  if [[ -n "$added" ]]; then
    printf '%s\n' "$added" >> "$unshipped"
  fi
  while IFS= read -r symbol; do
    [[ -z "$symbol" ]] && continue
    if grep -qxF "$symbol" "$unshipped"; then
      grep -vxF "$symbol" "$unshipped" > "$unshipped.tmp" || true
      mv "$unshipped.tmp" "$unshipped"
    else
      echo "*REMOVED*$symbol" >> "$unshipped"
    fi
  done <<< "$removed"
  normalise "$unshipped"

  if $ship; then
    # Shipped removals leave the shipped file; everything else moves into it.
    grep -E '^\*REMOVED\*' "$unshipped" | sed 's/^\*REMOVED\*//' > "$unshipped.removed" || true
    grep -vxF -f "$unshipped.removed" "$shipped" > "$shipped.tmp" || true
    grep -vE '^\*REMOVED\*' "$unshipped" >> "$shipped.tmp" || true
    mv "$shipped.tmp" "$shipped"
    rm -f "$unshipped.removed"
    echo "$header" > "$unshipped"
    normalise "$shipped"
  fi

  printf '%s: %d added, %d removed%s\n' "$dir" "$(grep -c . <<< "$added" || true)" "$(grep -c . <<< "$removed" || true)" \
    "$($ship && echo ', all shipped' || true)"
done
