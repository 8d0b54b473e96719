#!/usr/bin/env bash
# Packs the runtime's packages and checks a user's app can use them: tests/PackageConsumer is built against the
# packages in a local folder feed (not the projects), run, and asked one HTTP request with curl.
#
#   eng/package-consumer-test.sh [--out DIR] [--version VERSION]
#
# DIR (default: a new temporary folder) receives feed/ (the .nupkg and .snupkg files), consumer/ (the app) and
# packages/ (the app's restored packages, so nothing lands in the global package folder). VERSION defaults to 0.1.0-ci.
# The packages are packed from a copy of the sources, so the working tree's bin/ and obj/ stay as they were.
# Other packages restore from the machine's usual NuGet sources. Prints "consumer answered: ..." and exits 0 on success.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

out=""
version="0.1.0-ci"
while (($#)); do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
if [[ -z "$out" ]]; then
  out=$(mktemp -d -t fastsock-packages.XXXXXX)
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/src" "$out/feed" "$out/consumer" "$out/packages"

step() { printf '== %s\n' "$*"; }

# 1. Pack every package (each src/NAME/ project) from a copy of what they are built from.
step "pack $version into $out/feed"
mkdir -p "$out/src"
# The build files the packages inherit (Directory.*.props/targets, global.json, nuget.config), at the root and in src/.
for file in "$repo"/Directory.* "$repo"/global.json "$repo"/[Nn]u[Gg]et.[Cc]onfig "$repo"/LICENSE; do
  if [[ -f "$file" ]]; then cp "$file" "$out/"; fi
done
for file in "$repo"/src/Directory.*; do
  if [[ -f "$file" ]]; then cp "$file" "$out/src/"; fi
done
packages=()
for dir in "$repo"/src/*/; do
  name=$(basename "$dir")
  compgen -G "$dir*.csproj" >/dev/null || continue
  # The package's own files, without build outputs.
  (cd "$repo/src" && tar --exclude=bin --exclude=obj -cf - "$name") | (cd "$out/src" && tar -xf -)
  packages+=("$out/src/$name")
done
for project in "${packages[@]}"; do
  dotnet pack "$project" -c Release -o "$out/feed" -nologo -v q -warnaserror -p:Version="$version"
done
ls "$out/feed"
compgen -G "$out/feed/Fastsock.Runtime.$version.nupkg" >/dev/null || { echo "no Fastsock.Runtime.$version.nupkg was packed" >&2; exit 1; }

# 2. Build the consumer against the feed, as a user would: its own folder, a nuget.config naming the feed.
step "build tests/PackageConsumer against the feed"
mkdir -p "$out/consumer"
(cd "$repo/tests/PackageConsumer" && tar --exclude=bin --exclude=obj -cf - .) | (cd "$out/consumer" && tar -xf -)
cat > "$out/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="fastsock-local" value="$out/feed" />
  </packageSources>
  <config>
    <add key="globalPackagesFolder" value="$out/packages" />
  </config>
</configuration>
XML
dotnet build "$out/consumer/PackageConsumer.csproj" -c Release -nologo -v q -p:FastsockVersion="$version"
# It must have used the package: the runtime comes from the restored package folder, not from a project.
grep -q "fastsock.runtime/$version" "$out/consumer/obj/project.assets.json" || { echo "the consumer did not restore Fastsock.Runtime $version" >&2; exit 1; }

# 3. Run it on any free port, ask once, stop it with SIGTERM.
step "run and ask"
log="$out/consumer.log"
dotnet "$out/consumer/bin/Release/net10.0/fastsock-package-consumer.dll" >"$log" 2>&1 &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null || true; }
trap stop EXIT
address=""
for _ in $(seq 300); do
  address=$(sed -nE 's/^Listening on (http:\/\/[0-9.:]+)$/\1/p' "$log" | head -n1)
  [[ -n "$address" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "the consumer exited before listening" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$address" ]] || { cat "$log" >&2; echo "the consumer printed no 'Listening on' line in 30 s" >&2; exit 1; }
answer=$(curl -sS --max-time 10 "$address/")
case "$answer" in
  "Hello from Fastsock.Runtime: worker "*) echo "consumer answered: $answer" ;;
  *) cat "$log" >&2; echo "unexpected answer from $address/: '$answer'" >&2; exit 1 ;;
esac
kill -TERM "$pid"
trap - EXIT
status=0
wait "$pid" || status=$?
grep -q '^Stopped$' "$log" || { cat "$log" >&2; echo "the consumer did not stop gracefully on SIGTERM (exit $status)" >&2; exit 1; }
echo "consumer stopped (exit $status)"
((status == 0))
