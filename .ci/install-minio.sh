#!/usr/bin/env bash
# Builds the MinIO server from its Go module (github.com/minio/minio) through the Go module proxy,
# for the MinIO TLS test (crates/cluster/tests/it/minio_tls.rs): four real servers form a TLS
# cluster with the certificate deploy issues, laid out as the MinIO operator mounts it.
#
# The rendered image (quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z) is commit 0d7408fc of the
# repository, which the module proxy refuses ("not available"); it serves the archived
# repository's last commit (2026-02-12), built here instead. Cached by version under
# /opt/datalyptica/minio (Go caches shared with install-k8s.sh); about 3 minutes cold on 2 cores.
# Prints on stdout only:   export DATALYPTICA_MINIO=/opt/datalyptica/minio/<version>/minio
# so:                      eval "$(bash .ci/install-minio.sh)"
set -euo pipefail

MINIO_VERSION=${DATALYPTICA_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
DEST=${DATALYPTICA_MINIO_ROOT:-/opt/datalyptica/minio}/$MINIO_VERSION
# shellcheck source=go-env.sh
source "$(dirname "$0")/go-env.sh"

log() { echo "install-minio: $*" >&2; }

stamp="github.com/minio/minio@$MINIO_VERSION"
if [ -x "$DEST/minio" ] && [ "$(cat "$DEST/.version" 2>/dev/null)" = "$stamp" ]; then
    log "minio $MINIO_VERSION already built"
else
    command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }
    log "building minio $MINIO_VERSION"
    bin=$(mktemp -d)
    trap 'rm -rf "$bin"' EXIT
    GOBIN="$bin" go install -trimpath -ldflags "-s -w" "$stamp" >&2
    mkdir -p "$DEST"
    install -m 0755 "$bin/minio" "$DEST/minio"
    echo "$stamp" >"$DEST/.version"
fi
echo "export DATALYPTICA_MINIO=$DEST/minio"
