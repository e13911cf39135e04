#!/usr/bin/env bash
# Installs kustomize (sigs.k8s.io/kustomize/kustomize/v5) for `datalyptica lint --kustomize`
# and its tests. Built from the Go module proxy with the machine's Go; the binary, the module
# cache and the build cache live outside the clone, under /opt/datalyptica/kustomize.
# Idempotent (a second run only checks the version). Prints an export line on stdout (all
# else on stderr):
#   eval "$(bash .ci/install-kustomize.sh)"

set -euo pipefail

KUSTOMIZE_VERSION="v5.8.1"
ROOT="/opt/datalyptica/kustomize"
BIN="$ROOT/$KUSTOMIZE_VERSION/bin/kustomize"

if ! [ -x "$BIN" ] || ! "$BIN" version 2>/dev/null | grep -q "$KUSTOMIZE_VERSION"; then
    if ! command -v go >/dev/null 2>&1; then
        echo "install-kustomize: Go is needed to build kustomize" >&2
        exit 1
    fi
    mkdir -p "$ROOT/$KUSTOMIZE_VERSION/bin" "$ROOT/gomod" "$ROOT/gocache"
    # GOTOOLCHAIN=local: build with the installed Go, never download a toolchain.
    GOTOOLCHAIN=local GOFLAGS=-mod=mod GOBIN="$ROOT/$KUSTOMIZE_VERSION/bin" \
        GOMODCACHE="$ROOT/gomod" GOCACHE="$ROOT/gocache" \
        go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
    "$BIN" version >&2
fi

echo "export DATALYPTICA_KUSTOMIZE=$BIN"
