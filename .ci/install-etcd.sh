#!/usr/bin/env bash
# Builds etcd and etcdctl at the version of the image the tree renders for etcd
# (quay.io/coreos/etcd:v$ETCD_VERSION), from Go modules through the Go module proxy, so the etcd
# TLS test runs the very release the StatefulSet runs (Debian ships 3.4, whose flags and TLS
# behaviour differ). crates/cluster/tests/it/etcd_tls.rs checks that the binary it is given is the
# rendered image's version, so a change of the image without this line fails there.
#
# Cached by version under /opt/datalyptica/etcd/<version> (Go caches shared with install-k8s.sh);
# about 30 s cold when the sandbox's etcd modules are cached, a few minutes otherwise.
# Prints on stdout only:   export DATALYPTICA_ETCD_BIN_DIR=/opt/datalyptica/etcd/v3.5.21
# so:                      eval "$(bash .ci/install-etcd.sh)"
set -euo pipefail

ETCD_VERSION=${DATALYPTICA_ETCD_RENDERED_VERSION:-v3.5.21}
DEST=${DATALYPTICA_ETCD_ROOT:-/opt/datalyptica/etcd}/$ETCD_VERSION
# shellcheck source=go-env.sh
source "$(dirname "$0")/go-env.sh"

log() { echo "install-etcd: $*" >&2; }

stamp="go.etcd.io/etcd/{server,etcdctl}/v3@$ETCD_VERSION"
if [ -x "$DEST/etcd" ] && [ -x "$DEST/etcdctl" ] && [ "$(cat "$DEST/.version" 2>/dev/null)" = "$stamp" ]; then
    log "etcd $ETCD_VERSION already built"
else
    command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }
    log "building etcd and etcdctl $ETCD_VERSION"
    # The server module has replace lines of its own (`go install module@version` refuses it):
    # a wrapper module that requires both builds the same main packages.
    mod=$(mktemp -d)
    trap 'rm -rf "$mod"' EXIT
    cd "$mod"
    go mod init datalyptica.local/etcd-rendered >/dev/null 2>&1
    go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION" >&2
    go build -trimpath -ldflags "-s -w" -o etcd go.etcd.io/etcd/server/v3 >&2
    go build -trimpath -ldflags "-s -w" -o etcdctl go.etcd.io/etcd/etcdctl/v3 >&2
    mkdir -p "$DEST"
    install -m 0755 etcd etcdctl "$DEST/"
    echo "$stamp" >"$DEST/.version"
fi
echo "export DATALYPTICA_ETCD_BIN_DIR=$DEST"
