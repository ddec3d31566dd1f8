#!/usr/bin/env bash
# Coverage-guided fuzzing of ioam-core: builds the cargo-fuzz targets (stable toolchain,
# --sanitizer none, debug assertions + overflow checks) and runs each for SECONDS (default 20).
# Usage: scripts/fuzz-run.sh [SECONDS] [TARGET...]
#   env: CARGO_TARGET_DIR (default /tmp/target-fuzz), FUZZ_JOBS (parallel targets, default 1),
#        FUZZ_MAX_LEN (default 4096), FUZZ_SEED (libFuzzer -seed; CI sets 1 for repeatable runs)
# Corpus: fuzz/corpus/<target> (working, git-ignored) seeded from fuzz/seeds/<target> (committed,
# built from the kernel captures by scripts/fuzz-seeds.ts). A crash leaves its input in
# fuzz/artifacts/<target>/ and makes the script exit 1; reproduce with
#   cargo fuzz run -s none -a --fuzz-dir fuzz <target> fuzz/artifacts/<target>/<file>
# and add it to crates/ioam-core/tests/regressions.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}
shift || true
ALL=(decode roundtrip transit encap decap batch)
TARGETS=("${@:-${ALL[@]}}")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-fuzz}
MAXLEN=${FUZZ_MAX_LEN:-4096}
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz --locked" >&2; exit 2; }

t0=$(date +%s)
cargo fuzz build -s none -a --fuzz-dir fuzz 2>&1 | grep -E "^(error|warning: unused)" || true
t1=$(date +%s)
echo "build: $((t1 - t0)) s"

status=0
printf '%-10s %10s %8s %7s %6s %s\n' target execs exec/s cov corpus result
for t in "${TARGETS[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  [ -d "fuzz/seeds/$t" ] && cp -n fuzz/seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
  log=$(mktemp)
  set +e
  cargo fuzz run -s none -a --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$SECS" -max_len="$MAXLEN" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  eps=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?')
  corp=$(ls "fuzz/corpus/$t" | wc -l)
  if [ $rc -eq 0 ]; then res=ok; else res="CRASH (rc $rc, see fuzz/artifacts/$t, log $log)"; status=1; fi
  printf '%-10s %10s %8s %7s %6s %s\n' "$t" "$execs" "$eps" "$cov" "$corp" "$res"
  [ $rc -eq 0 ] && rm -f "$log" || grep -E 'panicked|SUMMARY|Test unit written|assert' "$log" | head -5
done
echo "total: $(( $(date +%s) - t0 )) s"
exit $status
