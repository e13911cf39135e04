#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of the YAML loaders (libFuzzer via cargo-fuzz, nightly):
#   bash .ci/fuzz.sh                 # every target, FUZZ_SECONDS (default 60) each
#   bash .ci/fuzz.sh yaml 3600       # one target, one hour (the documented longer run)
# Installs what it needs (idempotent): a nightly toolchain (minimal profile) and cargo-fuzz.
# Seed corpus: fuzz/seeds/<target> plus the project's own fixtures (lint rule fixtures, the
# commented default spec); new inputs go to a scratch corpus under the fuzz target dir, never to the
# committed seeds. A crash, a hang (> 10 s per input) or more than 2 GiB RSS fails the run;
# libFuzzer writes the input to fuzz/artifacts/<target>/ (see fuzz/README.md for triage).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(yaml spec lint)
if [[ $# -ge 1 ]]; then targets=("$1"); fi
seconds="${2:-${FUZZ_SECONDS:-60}}"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal >&2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2 >&2
fi

# Without ASan: the code under test is safe Rust (ASan would double the build and halve the
# executions); debug assertions (overflow checks) stay on, as cargo-fuzz sets them.
# Cached outside the clone, like the Go builds: a warm CI run rebuilds only our own crates.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/opt/datalyptica/fuzz-target}"
# Without a target name, cargo fuzz builds them all (one build of the shared dependencies).
cargo +nightly fuzz build --fuzz-dir fuzz --sanitizer none ${1:+"$1"}

for t in "${targets[@]}"; do
    work="$CARGO_TARGET_DIR/corpus/$t"
    mkdir -p "$work" "fuzz/artifacts/$t"
    seeds=("fuzz/seeds/$t")
    case "$t" in
        yaml | lint) seeds+=(crates/lint/tests/fixtures) ;;
        spec) cp datalyptica.yaml "$work/datalyptica.yaml" ;;
    esac
    echo "fuzz $t: ${seconds}s" >&2
    log="$CARGO_TARGET_DIR/fuzz-$t.log"
    if ! cargo +nightly fuzz run --fuzz-dir fuzz --sanitizer none "$t" "$work" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz $t FAILED: reproducer in fuzz/artifacts/$t/ (log $log)" >&2
        exit 1
    fi
    # One line per target: executions, time, coverage, corpus size.
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    secs=$(sed -n 's/^stat::.*total_time.*: *//p; s/.*Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -n1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
    corp=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -n1)
    echo "fuzz $t: ${runs:-?} executions in ${secs:-$seconds} s, $cov, $corp, no crash" >&2
done
