#!/usr/bin/env bash
# Builds one of the small Go programs under .ci/ that run an upstream engine's own library for
# the GitOps health-check tests, and prints an export line naming it (all else on stderr):
#   eval "$(bash .ci/install-go-runner.sh argocd-lua DATALYPTICA_ARGOCD_LUA)"
#     Argo CD's Lua runtime: gopher-lua, the release Argo CD pins, with the same libraries opened
#   eval "$(bash .ci/install-go-runner.sh flux-cel DATALYPTICA_FLUX_CEL)"
#     Flux's healthCheckExprs: cel-go, the release fluxcd/pkg pins, with the same environment
# Modules come from the Go module proxy; the binary, module cache and build cache live outside
# the clone, under /opt/datalyptica/<name>/<hash of the sources>. Idempotent.

set -euo pipefail
name="${1:?usage: install-go-runner.sh NAME VARIABLE}"
var="${2:?usage: install-go-runner.sh NAME VARIABLE}"
cd "$(dirname "$0")/$name"

ROOT="/opt/datalyptica/$name"
HASH="$(cat go.mod go.sum main.go | sha256sum | cut -c1-16)"
BIN="$ROOT/$HASH/$name"

if ! [ -x "$BIN" ]; then
    if ! command -v go >/dev/null 2>&1; then
        echo "install-go-runner: Go is needed to build $name" >&2
        exit 1
    fi
    mkdir -p "$ROOT/$HASH" "$ROOT/gomod" "$ROOT/gocache"
    GOTOOLCHAIN=local GOFLAGS=-mod=mod GOMODCACHE="$ROOT/gomod" GOCACHE="$ROOT/gocache" \
        go build -o "$BIN.tmp" . >&2
    mv "$BIN.tmp" "$BIN"
fi

echo "export $var=$BIN"
