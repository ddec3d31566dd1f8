#!/usr/bin/env bash
# Installs ioamsim the way a user does, from the npm tarballs, on a PATH without cargo/rustc, and
# uses it: the CLI (--help, --version, demo, decode, run with workers), the library (a real
# decode), and the error when the platform package is absent. Any failure exits non-zero.
#
# Usage: bash scripts/pack-test.sh [WORKDIR]   (default: a temporary folder, removed afterwards;
#        a WORKDIR given is kept: WORKDIR/pack/*.tgz, WORKDIR/app/ the installed project)
# Env:   IOAMSIM_SKIP_NATIVE_BUILD=1   pack native/ as it is (see scripts/pack.sh)
#        IOAMSIM_PACK_OFFLINE=1        npm install --offline (dependencies only from the npm cache)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ $# -ge 1 ]; then
  work=$1
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/ioamsim-pack-test.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi

fail() {
  echo "pack-test: FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

# -- 1. pack
step "scripts/pack.sh $work/pack"
bash scripts/pack.sh "$work/pack" >"$work/pack.out" || fail "scripts/pack.sh exited $?"
mapfile -t tgz < <(tail -n 2 "$work/pack.out")
main_tgz=${tgz[0]:-}
platform_tgz=${tgz[1]:-}
[ -f "$main_tgz" ] && [ -f "$platform_tgz" ] || fail "scripts/pack.sh did not print two tarballs (got: ${tgz[*]:-nothing})"
version=$(node -p "require('./package.json').version")

# -- 2. a PATH without the Rust toolchain: every PATH entry holding cargo/rustc/rustup is dropped;
# node/npm/npx and sh (npx runs bins through it) are linked into a folder of their own if they
# lived in a dropped entry (e.g. a distribution's rustc in /usr/bin).
node_bin=$(command -v node)
npm_bin=$(command -v npm)
npx_bin=$(command -v npx)
sh_bin=$(command -v sh)
clean_path=""
IFS=: read -ra entries <<<"$PATH"
for d in "${entries[@]}"; do
  [ -n "$d" ] || continue
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/rustup" ]; then continue; fi
  clean_path=${clean_path:+$clean_path:}$d
done
for tool in node npm npx sh; do
  if ! PATH=$clean_path command -v $tool >/dev/null; then
    mkdir -p "$work/bin"
    bin_var=${tool}_bin
    ln -sf "${!bin_var}" "$work/bin/$tool"
    case ":$clean_path:" in *":$work/bin:"*) ;; *) clean_path=$work/bin${clean_path:+:$clean_path} ;; esac
  fi
done
if PATH=$clean_path command -v cargo >/dev/null || PATH=$clean_path command -v rustc >/dev/null; then
  fail "cargo/rustc still on the test PATH ($clean_path)"
fi
run() { env PATH="$clean_path" CARGO=/nonexistent RUSTC=/nonexistent "$@"; }

# -- 3. install both tarballs into an empty project
app=$work/app
rm -rf "$app"
mkdir -p "$app"
printf '{ "name": "ioamsim-pack-test-app", "version": "1.0.0", "private": true }\n' >"$app/package.json"
net=--prefer-offline
[ "${IOAMSIM_PACK_OFFLINE:-0}" = 1 ] && net=--offline
step "npm install $(basename "$main_tgz") $(basename "$platform_tgz") (PATH without cargo, $net)"
(cd "$app" && run npm install "$net" --no-audit --no-fund --loglevel=error "$main_tgz" "$platform_tgz") ||
  fail "npm install of the tarballs failed"
pkg=$app/node_modules/ioamsim
[ -f "$pkg/dist/app/cli/main.js" ] || fail "installed package lacks dist/app/cli/main.js"
[ -f "$app/node_modules/ioamsim-linux-x64-gnu/ioamsim.linux-x64-gnu.node" ] || fail "platform package not installed"
if find "$pkg" -name '*.node' | grep -q .; then fail "a .node file is inside the main package"; fi
[ ! -e "$pkg/src" ] && [ ! -e "$pkg/crates" ] && [ ! -e "$pkg/dist/test" ] || fail "sources or tests were packed"

# -- 4. the CLI
cd "$app"
step "npx ioamsim --help"
help=$(run npx --no -- ioamsim --help) || fail "ioamsim --help exited non-zero"
for c in decode transit encap decap demo run kernel-check testbed; do
  grep -Eq "^  $c( |$)" <<<"$help" || fail "ioamsim --help does not list the $c command"
done
got=$(run npx --no -- ioamsim --version) || fail "ioamsim --version exited non-zero"
[ "$got" = "$version" ] || fail "ioamsim --version printed '$got', expected $version"

step "npx ioamsim demo --out $work/demo"
demo_out=$(run npx --no -- ioamsim demo --out "$work/demo") || fail "ioamsim demo exited non-zero"
for f in report.html report.txt spans.otlp.jsonl capture.pcapng summary.json; do
  [ -s "$work/demo/$f" ] || fail "demo did not write a non-empty $f"
done
conclusion=$(tail -n 1 <<<"$demo_out")
case $conclusion in
  "Slowest contributor: network hop r2→r3 "*) ;;
  *) fail "demo's printed conclusion is not the congested hop r2→r3: $conclusion" ;;
esac
run node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (s.conclusion !== process.argv[2]) throw new Error("summary.json conclusion differs from the printed one: " + s.conclusion);
' "$work/demo/summary.json" "$conclusion" || fail "summary.json does not hold the printed conclusion"
echo "$conclusion"

step "npx ioamsim decode $work/demo/capture.pcapng"
run npx --no -- ioamsim decode "$work/demo/capture.pcapng" >"$work/decoded.jsonl" || fail "ioamsim decode exited non-zero"
run node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
  let traces = 0;
  for (const l of lines) {
    const r = JSON.parse(l);
    for (const h of r.packet.extHeaders ?? [])
      for (const o of h.options ?? []) if (o.option.kind === "ioam" && o.option.data.type === "preallocated-trace") traces++;
  }
  if (lines.length < 100 || traces !== lines.length) throw new Error(`${lines.length} packets, ${traces} IOAM traces`);
  console.log(`${lines.length} packets decoded, each with an IOAM Pre-allocated trace`);
' "$work/decoded.jsonl" || fail "decode of the demo capture is not one IOAM trace per packet"

step "npx ioamsim run node_modules/ioamsim/examples/leaf-spine-heavy.yaml --workers 2"
# (two partitions, each run by a worker thread: dist/sim/partition-worker.js runs from the package)
run npx --no -- ioamsim run node_modules/ioamsim/examples/leaf-spine-heavy.yaml --out "$work/run" --duration 2ms --workers 2 \
  >"$work/run.txt" 2>&1 || fail "ioamsim run exited non-zero: $(tail -n 3 "$work/run.txt")"
grep -E "^packets: [1-9][0-9]* generated, [1-9][0-9]* delivered" "$work/run.txt" || fail "no packet delivered: $(cat "$work/run.txt")"
grep -Eo "\(2 partitions, lookahead [1-9][0-9]* ns" "$work/run.txt" || fail "the run was not partitioned over 2 workers: $(tail -n 1 "$work/run.txt")"
node -e 'const i = require(process.argv[1]); if (i.engine !== "partitioned" || !(i.partitions.packetHops.every((h) => h > 0))) { console.error(JSON.stringify(i)); process.exit(1); }' "$work/run/run-info.json" \
  || fail "a partition ran no packet-hop on its worker (run-info.json)"
[ -s "$work/run/summary.json" ] || fail "run did not write summary.json"

# -- 5. the library: decode a hand-built packet (IPv6 + Hop-by-Hop: PadN, IOAM Pre-allocated trace
# of namespace 123 with one node: hop limit 63, node id 42; PadN to 8n octets)
step "require('ioamsim'): decode"
run node -e '
  const assert = require("node:assert/strict");
  const { Node, decode, coreVersion } = require("ioamsim");
  assert.equal(typeof Node, "function");
  const hex =
    "60000000" + "0018" + "00" + "40" +                              // IPv6: payload 24, next header HbH, hop limit 64
    "20010db8000000000000000000000001" + "20010db8000000000000000000000002" +
    "3b02" + "0100" +                                                  // HbH: no next header, 24 octets; PadN(0)
    "310e" + "00" + "00" +                                             // IOAM option, len 14, reserved, Pre-allocated trace
    "007b" + "0800" + "800000" + "00" +                                // ns 123, NodeLen 1, RemainingLen 0, bit 0
    "3f00002a" +                                                       // hop limit 63, node id 42
    "01020000";                                                        // PadN(2)
  const p = decode(Buffer.from(hex, "hex"));
  const opt = p.extHeaders[0].options.find((o) => o.option.kind === "ioam").option;
  assert.equal(opt.data.type, "preallocated-trace");
  assert.equal(opt.data.namespaceId, 123);
  assert.deepEqual(opt.data.nodes, [{ hopLimit: 63, nodeId: 42 }]);
  assert.equal(p.ipv6.dst, "2001:db8::2");
  const loaded = Object.keys(require.cache).filter((k) => k.endsWith(".node"));
  assert.deepEqual(loaded.map((k) => k.split("node_modules/").pop()), ["ioamsim-linux-x64-gnu/ioamsim.linux-x64-gnu.node"]);
  console.log(`decoded node ${opt.data.nodes[0].nodeId} in namespace ${opt.data.namespaceId}; core ${coreVersion()} from ${loaded[0]}`);
' || fail "library decode in the installed package failed"

# -- 5b. the capture library (pure TypeScript, docs/CAPTURE.md): the demo's capture, record by record
step "require('ioamsim/capture'): read the demo capture"
run node -e '
  const assert = require("node:assert/strict");
  const { readCapture, CaptureError } = require("ioamsim/capture");
  assert.equal(typeof CaptureError, "function");
  (async () => {
    let n = 0;
    for await (const r of readCapture(process.argv[1])) { assert.equal(r.network[0] >> 4, 6); n++; }
    assert.ok(n > 0);
    console.log(`read ${n} IPv6 packets with ioamsim/capture`);
  })().catch((e) => { console.error(e); process.exit(1); });
' "$work/demo/capture.pcapng" || fail "ioamsim/capture in the installed package failed"

# -- 6. without the platform package: a clear error naming it, exit 4 (environment)
step "without ioamsim-linux-x64-gnu"
mv node_modules/ioamsim-linux-x64-gnu "$work/platform-aside"
set +e
err=$(run npx --no -- ioamsim decode "$work/demo/capture.pcapng" 2>&1 >/dev/null)
rc=$?
set -e
mv "$work/platform-aside" node_modules/ioamsim-linux-x64-gnu
[ "$rc" = 4 ] || fail "decode without the platform package exited $rc, expected 4 ($err)"
grep -q "install the platform package ioamsim-linux-x64-gnu" <<<"$err" || fail "missing-addon error does not name the platform package: $err"
echo "exit 4: $(head -n 1 <<<"$err" | cut -c1-160)..."

echo "pack-test: ok ($(basename "$main_tgz") $(du -k "$main_tgz" | cut -f1) kB, $(basename "$platform_tgz") $(du -k "$platform_tgz" | cut -f1) kB)"
