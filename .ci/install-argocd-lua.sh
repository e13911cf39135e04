#!/usr/bin/env bash
# Builds .ci/argocd-lua (Argo CD's Lua health-check runtime: gopher-lua, the release Argo CD
# pins, with the same libraries opened) for the GitOps health-check tests. Modules come from
# the Go module proxy; the binary, module cache and build cache live outside the clone, under
# /opt/datalyptica/argocd-lua/<hash of the sources>. Idempotent. Prints an export line on
# stdout (all else on stderr):
#   eval "$(bash .ci/install-argocd-lua.sh)"

set -euo pipefail
cd "$(dirname "$0")/argocd-lua"

ROOT="/opt/datalyptica/argocd-lua"
HASH="$(cat go.mod go.sum main.go | sha256sum | cut -c1-16)"
BIN="$ROOT/$HASH/argocd-lua"

if ! [ -x "$BIN" ]; then
    if ! command -v go >/dev/null 2>&1; then
        echo "install-argocd-lua: Go is needed to build the Lua runner" >&2
        exit 1
    fi
    mkdir -p "$ROOT/$HASH" "$ROOT/gomod" "$ROOT/gocache"
    GOTOOLCHAIN=local GOFLAGS=-mod=mod GOMODCACHE="$ROOT/gomod" GOCACHE="$ROOT/gocache" \
        go build -o "$BIN.tmp" . >&2
    mv "$BIN.tmp" "$BIN"
fi

echo "export DATALYPTICA_ARGOCD_LUA=$BIN"
