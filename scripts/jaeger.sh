#!/usr/bin/env bash
# Build (if missing), start and stop a local Jaeger v2 for the CLT tests and for looking at the demo.
#
#   bash scripts/jaeger.sh build              # build Jaeger v1.75.0 from the Go module proxy (~5-10 min), cached
#   bash scripts/jaeger.sh start [OTLP] [UI]  # start on 127.0.0.1 (OTLP/HTTP port, default 4318; UI/query port, default 16686)
#   bash scripts/jaeger.sh stop               # stop the Jaeger started by `start`
#   bash scripts/jaeger.sh path               # print the binary's path
#
# The binary is cached as $IOAMSIM_JAEGER_BIN (default ~/.cache/ioamsim/jaeger-1.75.0/jaeger) and
# reused when present. `start` uses tools/jaeger/config.yaml (127.0.0.1 only: OTLP/HTTP, query
# API/UI on UI and its gRPC on UI-1, nothing else) and writes its pid and log under
# ~/.cache/ioamsim/jaeger-run/. A `go build` embeds no UI assets: the UI page is a placeholder,
# the query API (/api/services, /api/traces) is complete.
set -euo pipefail
VERSION=v1.75.0
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ioamsim"
BIN="${IOAMSIM_JAEGER_BIN:-$CACHE/jaeger-${VERSION#v}/jaeger}"
RUN="$CACHE/jaeger-run"
CONFIG="$(cd "$(dirname "$0")/.." && pwd)/tools/jaeger/config.yaml"

build() {
  if [ -x "$BIN" ]; then echo "jaeger: $BIN (cached)"; return 0; fi
  command -v go >/dev/null || { echo "jaeger: go is required to build Jaeger (https://go.dev/dl/)" >&2; exit 4; }
  local dir src
  dir=$(go mod download -json "github.com/jaegertracing/jaeger@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "jaeger: go mod download github.com/jaegertracing/jaeger@$VERSION gave no source tree" >&2; exit 4; }
  src=$(mktemp -d)
  echo "jaeger: building $VERSION from $dir (takes minutes)"
  mkdir -p "$(dirname "$BIN")"
  # The module cache is read-only: build in a writable copy, removed whatever happens.
  (trap 'chmod -R u+w "$src"; rm -rf "$src"' EXIT
   cp -r "$dir/." "$src/" && chmod -R u+w "$src" &&
   cd "$src" && GOFLAGS=-buildvcs=false go build -o "$BIN.tmp" ./cmd/jaeger)
  mv "$BIN.tmp" "$BIN"
  echo "jaeger: built $BIN"
}

start() {
  local otlp="${1:-4318}" ui="${2:-16686}"
  [ -x "$BIN" ] || build
  mkdir -p "$RUN"
  if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then
    echo "jaeger: already running (pid $(cat "$RUN/pid"))"; return 0
  fi
  IOAMSIM_JAEGER_OTLP_PORT="$otlp" IOAMSIM_JAEGER_QUERY_PORT="$ui" IOAMSIM_JAEGER_GRPC_PORT="$((ui - 1))" \
    nohup "$BIN" --config "$CONFIG" >"$RUN/log" 2>&1 &
  echo $! >"$RUN/pid"
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$ui/api/services" >/dev/null 2>&1; then
      echo "jaeger: UI http://127.0.0.1:$ui  OTLP/HTTP http://127.0.0.1:$otlp/v1/traces  (pid $(cat "$RUN/pid"))"
      return 0
    fi
    kill -0 "$(cat "$RUN/pid")" 2>/dev/null || break
    sleep 0.2
  done
  echo "jaeger: did not start; log $RUN/log:" >&2; tail -20 "$RUN/log" >&2; exit 4
}

stop() {
  [ -f "$RUN/pid" ] || { echo "jaeger: not running"; return 0; }
  local pid; pid=$(cat "$RUN/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  rm -f "$RUN/pid"; echo "jaeger: stopped"
}

case "${1:-}" in
  build) build ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  path) echo "$BIN" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
