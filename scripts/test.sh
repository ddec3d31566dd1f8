#!/usr/bin/env bash
# The test suite: Rust unit/integration tests, TypeScript typecheck, node:test suites.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo test"
cargo test --workspace --release --quiet
echo "== typecheck"
npx tsc -p tsconfig.json --noEmit
echo "== node:test"
node --import tsx --test --test-reporter=spec test/*.test.ts
