#!/usr/bin/env bash
# Builds the binaries of `datalyptica sandbox` (a real Kubernetes control plane on one machine)
# from Go modules, through the Go module proxy:
#   kube-apiserver, kube-controller-manager, kube-scheduler  k8s.io/kubernetes  v$K8S_VERSION
#   etcd                                                      go.etcd.io/etcd/server/v3
#   kwok                                                      sigs.k8s.io/kwok/cmd/kwok
# into one directory laid out as controller-runtime's envtest assets are
# (/opt/datalyptica/k8s/<k8s version>/), so KUBEBUILDER_ASSETS may point at either.
#
# k8s.io/kubernetes requires its ~30 staging modules (k8s.io/api, k8s.io/apiserver, ...) at v0.0.0
# and maps them with `replace => ./staging/...`, which Go ignores in a dependency. A generated
# wrapper module replaces each of them by the published v0.<minor>.<patch>, the list read from
# k8s.io/kubernetes' own go.mod (never hard-coded).
#
# GOMODCACHE and GOCACHE live under /opt/datalyptica/go (outside the clone). Idempotent: when the
# binaries of these versions exist, it only prints the export line. Prints on stdout only:
#   export KUBEBUILDER_ASSETS=/opt/datalyptica/k8s/v1.37.2
# so:   eval "$(bash .ci/install-k8s.sh)"
set -euo pipefail

K8S_VERSION=${DATALYPTICA_K8S_VERSION:-v1.37.2}
ETCD_VERSION=${DATALYPTICA_ETCD_VERSION:-v3.6.17}
KWOK_VERSION=${DATALYPTICA_KWOK_VERSION:-v0.8.0}
ROOT=${DATALYPTICA_K8S_ROOT:-/opt/datalyptica/k8s}
DEST="$ROOT/$K8S_VERSION"
# shellcheck source=go-env.sh
source "$(dirname "$0")/go-env.sh"

log() { echo "install-k8s: $*" >&2; }

# The stamp records what each binary was built from; a change of any version rebuilds that part.
stamp_ok() { [ -x "$DEST/$1" ] && [ "$(cat "$DEST/.$1.version" 2>/dev/null)" = "$2" ]; }

if ! command -v go >/dev/null 2>&1; then
    log "go is not installed (Go 1.24 or later is needed: the wrapper modules use tool directives)"
    exit 1
fi
mkdir -p "$DEST" "$GOMODCACHE" "$GOCACHE"
work="$ROOT/src"
mkdir -p "$work"

# --- kube-apiserver, kube-controller-manager, kube-scheduler ---------------------------------
k8s_bins=(kube-apiserver kube-controller-manager kube-scheduler)
need_k8s=0
for b in "${k8s_bins[@]}"; do stamp_ok "$b" "k8s.io/kubernetes@$K8S_VERSION" || need_k8s=1; done
if ((need_k8s)); then
    log "building ${k8s_bins[*]} $K8S_VERSION (cold: tens of minutes on 2 cores)"
    staging_version="v0.${K8S_VERSION#v1.}"
    mod="$work/kubernetes-$K8S_VERSION"
    rm -rf "$mod" && mkdir -p "$mod" && cd "$mod"
    go mod init datalyptica.local/k8s-binaries >/dev/null 2>&1
    gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
        | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
    if [ -z "$gomod" ] || [ ! -f "$gomod" ]; then
        log "could not download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"
        exit 1
    fi
    # Every `k8s.io/<x> v0.0.0` requirement of k8s.io/kubernetes is one of its staging modules.
    mapfile -t staging < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }
                                $1 == "require" && $2 ~ /^k8s\.io\// && $3 == "v0.0.0" { print $2 }' "$gomod" | sort -u)
    if ((${#staging[@]} == 0)); then
        log "found no v0.0.0 staging requirements in $gomod"
        exit 1
    fi
    for m in "${staging[@]}"; do go mod edit "-replace=$m=$m@$staging_version"; done
    log "replaced ${#staging[@]} staging modules by $staging_version"
    for b in "${k8s_bins[@]}"; do
        go get -tool "k8s.io/kubernetes/cmd/$b@$K8S_VERSION" >&2
    done
    minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    pkg=k8s.io/component-base/version
    ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    out="$mod/bin"
    mkdir -p "$out"
    go build -trimpath -ldflags "$ldflags" -o "$out/" \
        "${k8s_bins[@]/#/k8s.io/kubernetes/cmd/}" >&2
    for b in "${k8s_bins[@]}"; do
        install -m 0755 "$out/$b" "$DEST/$b"
        echo "k8s.io/kubernetes@$K8S_VERSION" >"$DEST/.$b.version"
    done
    cd / && rm -rf "$mod"
else
    log "${k8s_bins[*]} $K8S_VERSION already built"
fi

# --- etcd ---------------------------------------------------------------------------------------
# etcd's server module has replace lines of its own, so `go install module@version` is refused;
# a wrapper module that requires it builds the same main package.
if ! stamp_ok etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION"; then
    log "building etcd $ETCD_VERSION"
    mod="$work/etcd-$ETCD_VERSION"
    rm -rf "$mod" && mkdir -p "$mod" && cd "$mod"
    go mod init datalyptica.local/etcd-binary >/dev/null 2>&1
    go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
    go build -trimpath -ldflags "-s -w" -o "$mod/etcd" go.etcd.io/etcd/server/v3 >&2
    install -m 0755 "$mod/etcd" "$DEST/etcd"
    echo "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >"$DEST/.etcd.version"
    cd / && rm -rf "$mod"
else
    log "etcd $ETCD_VERSION already built"
fi

# --- kwok ---------------------------------------------------------------------------------------
if ! stamp_ok kwok "sigs.k8s.io/kwok@$KWOK_VERSION"; then
    log "building kwok $KWOK_VERSION"
    GOBIN="$work/kwok-bin" go install -trimpath -ldflags "-s -w" \
        "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
    install -m 0755 "$work/kwok-bin/kwok" "$DEST/kwok"
    rm -rf "$work/kwok-bin"
    echo "sigs.k8s.io/kwok@$KWOK_VERSION" >"$DEST/.kwok.version"
else
    log "kwok $KWOK_VERSION already built"
fi

if [ ! -s "$DEST/kwok-stages.yaml" ] || [ "$(cat "$DEST/.kwok-stages.version" 2>/dev/null)" != "$KWOK_VERSION" ]; then
    # kwok finds no Stage unless given: take upstream's "fast" stages from the module (nodes
    # Ready with lease heartbeats, pods Ready/Completed/deleted, volumes provisioned and bound).
    # The sandbox has no other provisioner, so the volume stages are widened from kwok's own
    # StorageClass `kwok-volume` to every PVC with a class.
    stage="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
    if [ ! -d "$stage" ]; then
        go mod download "sigs.k8s.io/kwok@$KWOK_VERSION" >&2
    fi
    {
        for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
                 pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
                 volume/fast/pvc-provision.yaml volume/fast/pv-bind.yaml \
                 volume/fast/pv-delete.yaml volume/fast/pvc-delete.yaml; do
            echo "---"
            sed "s/self.spec.storageClassName == 'kwok-volume'/has(self.spec.storageClassName)/" "$stage/$f"
        done
    } >"$DEST/kwok-stages.yaml"
    echo "$KWOK_VERSION" >"$DEST/.kwok-stages.version"
fi

# AlertmanagerConfig (monitoring.coreos.com/v1alpha1), which OpenShift's user-workload
# monitoring serves and ../shared/crds/monitoring lacks: from the prometheus-operator module of
# the same version as the shared copies (v0.93.0), byte for byte.
PROM_OP_VERSION=${DATALYPTICA_PROM_OP_VERSION:-v0.93.0}
amc="$DEST/crds/monitoring/monitoring.coreos.com_alertmanagerconfigs.yaml"
if [ ! -s "$amc" ] || [ "$(cat "$DEST/.crds.version" 2>/dev/null)" != "$PROM_OP_VERSION" ]; then
    dir=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROM_OP_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    mkdir -p "$DEST/crds/monitoring"
    install -m 0644 "$dir/example/prometheus-operator-crd/monitoring.coreos.com_alertmanagerconfigs.yaml" "$amc"
    echo "$PROM_OP_VERSION" >"$DEST/.crds.version"
fi

echo "export KUBEBUILDER_ASSETS=$DEST"
