#!/usr/bin/env bash
# Builds .ci/flux-cel (Flux's healthCheckExprs evaluation: cel-go, the release fluxcd/pkg
# pins, with the same environment) for the GitOps health-check tests. Modules come from
# the Go module proxy; the binary, module cache and build cache live outside the clone, under
# /opt/datalyptica/flux-cel/<hash of the sources>. Idempotent. Prints an export line on
# stdout (all else on stderr):
#   eval "$(bash .ci/install-flux-cel.sh)"

set -euo pipefail
cd "$(dirname "$0")/flux-cel"

ROOT="/opt/datalyptica/flux-cel"
HASH="$(cat go.mod go.sum main.go | sha256sum | cut -c1-16)"
BIN="$ROOT/$HASH/flux-cel"

if ! [ -x "$BIN" ]; then
    if ! command -v go >/dev/null 2>&1; then
        echo "install-flux-cel: Go is needed to build the CEL runner" >&2
        exit 1
    fi
    mkdir -p "$ROOT/$HASH" "$ROOT/gomod" "$ROOT/gocache"
    GOTOOLCHAIN=local GOFLAGS=-mod=mod GOMODCACHE="$ROOT/gomod" GOCACHE="$ROOT/gocache" \
        go build -o "$BIN.tmp" . >&2
    mv "$BIN.tmp" "$BIN"
fi

echo "export DATALYPTICA_FLUX_CEL=$BIN"
