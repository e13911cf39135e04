#!/usr/bin/env bash
# Installs the offline validators the operations tests use (`promtool` from Debian's `prometheus`
# package, ShellCheck for the rendered shell scripts) on a Debian machine, as root. Idempotent:
# returns at once when both are on PATH.
# Prints nothing on stdout (callers may capture it); progress and errors go to stderr.
set -euo pipefail

log() { echo "install-ops: $*" >&2; }

if ! command -v shellcheck >/dev/null 2>&1; then
    log "installing shellcheck"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends shellcheck >&2
fi
command -v shellcheck >/dev/null 2>&1 || { log "shellcheck still missing after install"; exit 1; }

if command -v promtool >/dev/null 2>&1; then
    exit 0
fi

log "installing prometheus (for promtool)"
export DEBIAN_FRONTEND=noninteractive
# The package's postinst would start a Prometheus server; the tests need only the promtool
# binary, so forbid service starts while installing (only if no one else set a policy already).
own_policy=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
fi
cleanup() { if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends prometheus >&2

# Without systemd the init script may still have launched the daemon; stop only that service,
# by its pid file, never by name.
if [[ -x /etc/init.d/prometheus ]]; then
    /etc/init.d/prometheus stop >&2 2>&1 || true
fi

command -v promtool >/dev/null 2>&1 || { log "promtool still missing after install"; exit 1; }
log "promtool $(promtool --version 2>&1 | head -n1)"
