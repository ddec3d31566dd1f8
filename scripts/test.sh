#!/usr/bin/env bash
# The test suite: Rust unit/integration tests, the native addon (so node:test runs against the
# current core), TypeScript typecheck, node:test suites.
# Env: IOAMSIM_SKIP_NATIVE_BUILD=1 uses native/ as it is; IOAMSIM_NO_TSHARK=1 / IOAMSIM_NO_KERNEL=1 /
# IOAMSIM_NO_NS3=1 opt out of the tshark / kernel / ns-3 (libns3-dev) suites; IOAMSIM_FC_RUNS / IOAMSIM_FC_SEED tune fast-check.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo test"
cargo test --workspace --release --quiet
if [ "${IOAMSIM_SKIP_NATIVE_BUILD:-0}" != 1 ]; then
  echo "== native addon"
  npm run --silent build:native
fi
echo "== typecheck"
npx tsc -p tsconfig.json --noEmit
echo "== node:test"
node --import tsx --test --test-reporter=spec test/*.test.ts
