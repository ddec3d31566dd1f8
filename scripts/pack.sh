#!/usr/bin/env bash
# Packs ioamsim for npm, the napi-rs way: two tarballs in OUTDIR (default ./out/pack/)
#   ioamsim-<version>.tgz                 dist/ (compiled TypeScript), bin/, the addon loader
#                                         native/index.cjs (no .node), examples/, docs/, fixtures;
#                                         package.json gains optionalDependencies on the platform package
#   ioamsim-linux-x64-gnu-<version>.tgz   npm/linux-x64-gnu/: the prebuilt ioamsim.linux-x64-gnu.node
# Installing both needs no Rust: `npm install ./ioamsim-<v>.tgz ./ioamsim-linux-x64-gnu-<v>.tgz`.
#
# The optionalDependencies entry is written into the packed package.json only (what `napi
# prepublish` does at publish time): in the repository it would make `npm ci` fail for as long as
# the platform package is not on the registry. Publish these tarballs, platform package first
# (`npm publish <tgz>`); the repository's prepublishOnly refuses a publish from the clone.
#
# Builds first: `npm run build:native` (skip with IOAMSIM_SKIP_NATIVE_BUILD=1, uses native/ as is)
# and a clean `npm run build:ts` (dist/ is removed so no stale module gets packed).
# Prints the two tarball paths, main first, on stdout (the last two lines).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-out/pack}
mkdir -p "$out"
out=$(cd "$out" && pwd)

triple=linux-x64-gnu
node_file=ioamsim.$triple.node
version=$(node -p "require('./package.json').version")
platform_version=$(node -p "require('./npm/$triple/package.json').version")
if [ "$version" != "$platform_version" ]; then
  echo "pack: npm/$triple/package.json has version $platform_version, package.json $version: run \`npx napi version\`" >&2
  exit 1
fi

if [ "${IOAMSIM_SKIP_NATIVE_BUILD:-0}" != 1 ]; then
  echo "== npm run build:native" >&2
  npm run --silent build:native >&2
fi
[ -f "native/$node_file" ] || { echo "pack: native/$node_file is missing: run \`npm run build:native\`" >&2; exit 4; }
[ -f native/index.cjs ] || { echo "pack: native/index.cjs is missing: run \`npm run build:native\`" >&2; exit 4; }
echo "== npm run build:ts (clean dist/)" >&2
rm -rf dist
npm run --silent build:ts >&2

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The platform package: the .node built above, copied in (npm/*/*.node is git-ignored).
cp "native/$node_file" "npm/$triple/$node_file"
platform_tgz=$(cd "npm/$triple" && npm pack --ignore-scripts --silent --pack-destination "$out")

# The main package: npm pack applies `files`; the packed package.json is then given the
# optionalDependencies and packed again from the unpacked copy.
main_tgz=$(npm pack --ignore-scripts --silent --pack-destination "$stage")
tar -xzf "$stage/$main_tgz" -C "$stage"
node -e '
  const fs = require("node:fs");
  const [file, name, version] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.optionalDependencies = { ...pkg.optionalDependencies, [name]: version };
  delete pkg.scripts.prepublishOnly; // the guard against publishing the repository folder
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$stage/package/package.json" "ioamsim-$triple" "$version"
if find "$stage/package" -name '*.node' | grep -q .; then
  echo "pack: a .node file got into the main package (it belongs to ioamsim-$triple)" >&2
  exit 4
fi
main_tgz=$(cd "$stage/package" && npm pack --ignore-scripts --silent --pack-destination "$out")

cd "$root"
echo "$out/$main_tgz"
echo "$out/$platform_tgz"
