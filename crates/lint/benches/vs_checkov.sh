#!/usr/bin/env bash
# `datalyptica lint` against checkov on a real-world-shaped tree, in the same run, on the same
# machine: wall time and peak RSS of each, their ratios, and lint's per-file overhead.
#
#   bash crates/lint/benches/vs_checkov.sh [TREE_DIR] [SCALE] [RUNS]
#
# The tree comes from examples/gen_realworld.rs (~1,300 files, ~18 MB at SCALE 1: operator
# examples, install manifests, CRDs, kustomize and Helm layouts, CI files), written outside
# the clone (default /tmp/datalyptica-realworld-tree). A directory of public manifests works
# too: set TREE_DIR to it and SCALE to 0 to keep it as it is.
#
# Needs checkov in a venv outside the clone (CHECKOV overrides the path):
#   python3 -m venv /opt/datalyptica/checkov-venv
#   /opt/datalyptica/checkov-venv/bin/pip install checkov==3.3.30
# and GNU time (/usr/bin/time; `apt-get install time`).
# A benchmark, never a test: it prints figures and judges nothing.
set -euo pipefail
cd "$(dirname "$0")/../../.."

TREE="${1:-/tmp/datalyptica-realworld-tree}"
SCALE="${2:-1}"
RUNS="${3:-5}"
CHECKOV="${CHECKOV:-/opt/datalyptica/checkov-venv/bin/checkov}"
TD="${CARGO_TARGET_DIR:-target}"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
[ -x "$CHECKOV" ] || { echo "needs checkov at $CHECKOV (see the header of $0)" >&2; exit 2; }

cargo build --release -q -p datalyptica --bin datalyptica
cargo build --release -q -p datalyptica-lint --example gen_realworld
LINT="$TD/release/datalyptica"
if [ "$SCALE" != 0 ]; then
    rm -rf "$TREE"
    "$TD/release/examples/gen_realworld" "$TREE" "$SCALE"
fi
files=$(find "$TREE" \( -name '*.yaml' -o -name '*.yml' \) -not -path '*/.*' | wc -l)
bytes=$(find "$TREE" \( -name '*.yaml' -o -name '*.yml' \) -not -path '*/.*' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# One measured run: "wall_seconds max_rss_kib cpu_seconds" of the command (output discarded).
# CPU time (user + system, all threads and child processes) is what a loaded shared machine
# does not distort; wall time is what a user waits on an idle one.
measure() {
    local start end
    start=$(date +%s%N)
    /usr/bin/time -f '%M %U %S' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || true
    end=$(date +%s%N)
    tail -1 "$tmp/t" | awk -v d="$((end - start))" '{printf "%.3f %d %.2f\n", d / 1e9, $1, $2 + $3}'
}
# Median of RUNS runs (all figures from the median-wall run).
median() {
    for _ in $(seq "$RUNS"); do measure "$@"; done | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}

echo "tree: $TREE: $files YAML files, $((bytes / 1000)) kB; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
read -r lw lm lc <<<"$(median "$LINT" lint --format json --fail-on never "$TREE")"
echo "datalyptica lint: ${lw}s wall, ${lc}s CPU, ${lm} KiB peak RSS (median of $RUNS)"
read -r lsw lsm lsc <<<"$(median "$LINT" lint --format sarif --fail-on never "$TREE")"
echo "datalyptica lint --format sarif: ${lsw}s wall, ${lsc}s CPU, ${lsm} KiB"
read -r cw cm cc <<<"$(measure "$CHECKOV" -d "$TREE" --framework kubernetes --quiet --compact -o json)"
echo "checkov (kubernetes framework): ${cw}s wall, ${cc}s CPU, ${cm} KiB peak RSS (one run)"
awk -v lw="$lw" -v lm="$lm" -v lc="$lc" -v cw="$cw" -v cm="$cm" -v cc="$cc" 'BEGIN {
    if (lw < 0.005) lw = 0.005
    if (lc < 0.01) lc = 0.01
    printf "speed: lint is %.0fx faster than checkov by wall time, %.0fx by CPU time (target >= 150x)\n", cw / lw, cc / lc
    printf "memory: lint uses %.2f of checkov'"'"'s peak RSS (target <= 0.25)\n", lm / cm
}'

# Per-file overhead: the same N small objects as N files, then as one file of N documents.
N=2000
mkdir -p "$tmp/many" "$tmp/one"
for i in $(seq "$N"); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%s\n  namespace: app\ndata:\n  key: value\n' "$i" >"$tmp/many/c$i.yaml"
    { printf -- '---\n'; cat "$tmp/many/c$i.yaml"; } >>"$tmp/one/all.yaml"
done
read -r mw _ _ <<<"$(median "$LINT" lint --format json --fail-on never "$tmp/many")"
read -r ow _ _ <<<"$(median "$LINT" lint --format json --fail-on never "$tmp/one")"
awk -v mw="$mw" -v ow="$ow" -v n="$N" 'BEGIN {
    printf "per-file overhead: %d files %.3fs vs one file of %d documents %.3fs => %.0f us per file\n", n, mw, n, ow, (mw - ow) / n * 1e6
}'
