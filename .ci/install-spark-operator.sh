#!/usr/bin/env bash
# The kubeflow spark-operator the tree's Helm install runs (chart 2.5.2, app v2.5.2), built from
# its Go module, and the spark-submit it calls (PySpark 3.5.6 from PyPI: Spark's jars and bin/
# scripts, the rendered image's Spark), for crates/cluster/tests/it/spark_operator.rs.
#
# `go install pkg@version` asks the module proxy for the module's version list, which it refuses
# (403); the exact version is served, so the module is downloaded, copied out of the read-only
# cache and built as the main module (its go.mod pins k8s.io to v0.32.5 with replace directives,
# which only apply there). Cached by version under /opt/datalyptica/spark-operator and
# /opt/datalyptica/pyspark-venv; Go caches shared with install-k8s.sh.
# Prints on stdout only:
#   export DATALYPTICA_SPARK_OPERATOR=/opt/datalyptica/spark-operator/<version>/operator
#   export DATALYPTICA_SPARK_HOME=<pyspark package directory>
#   export DATALYPTICA_SPARK_OPERATOR_CRDS=/opt/datalyptica/spark-operator/<version>/crds
# so:   eval "$(bash .ci/install-spark-operator.sh)"
set -euo pipefail

VERSION=${DATALYPTICA_SPARK_OPERATOR_VERSION:-v2.5.2}
PYSPARK=${DATALYPTICA_PYSPARK_VERSION:-3.5.6}
ROOT=${DATALYPTICA_SPARK_OPERATOR_ROOT:-/opt/datalyptica/spark-operator}
VENV=${DATALYPTICA_PYSPARK_VENV:-/opt/datalyptica/pyspark-venv}
DEST=$ROOT/$VERSION
# shellcheck source=go-env.sh
source "$(dirname "$0")/go-env.sh"

log() { echo "install-spark-operator: $*" >&2; }

module="github.com/kubeflow/spark-operator/v2@$VERSION"
if [ -x "$DEST/operator" ] && [ -d "$DEST/crds" ] && [ "$(cat "$DEST/.version" 2>/dev/null)" = "$module" ]; then
    log "spark-operator $VERSION already built"
else
    command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }
    log "building spark-operator $VERSION"
    dir=$(go mod download -json "$module" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    cp -r "$dir/." "$src"
    chmod -R u+w "$src"
    mkdir -p "$DEST"
    (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$DEST/operator" ./cmd/operator) >&2
    # The CRDs the chart installs (Helm's crds/ folder): the manager needs all of them served.
    rm -rf "$DEST/crds"
    cp -r "$src/charts/spark-operator-chart/crds" "$DEST/crds"
    echo "$module" >"$DEST/.version"
fi

if ! "$VENV/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$PYSPARK')" 2>/dev/null; then
    log "installing pyspark $PYSPARK into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "pyspark==$PYSPARK" >&2
fi
home=$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
echo "export DATALYPTICA_SPARK_OPERATOR=$DEST/operator"
echo "export DATALYPTICA_SPARK_HOME=$home"
echo "export DATALYPTICA_SPARK_OPERATOR_CRDS=$DEST/crds"
