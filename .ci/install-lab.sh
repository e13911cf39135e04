#!/usr/bin/env bash
# Installs everything `datalyptica lab` / `datalyptica drill` need on a fresh Debian 12 machine (as root):
# PostgreSQL 15, etcd, Redis + Sentinel from Debian, Patroni 4.x from PyPI in a venv that user
# `postgres` can execute. Idempotent; a second run only checks and returns within seconds.
set -euo pipefail

VENV=${DATALYPTICA_PATRONI_VENV:-/opt/datalyptica/patroni-venv}
PATRONI_SPEC=${DATALYPTICA_PATRONI_SPEC:-'patroni[etcd3,psycopg3]>=4.0,<5'}
PKGS=(postgresql-15 etcd-server etcd-client redis-server redis-sentinel
      python3-venv iproute2 procps util-linux nftables openssl)

log() { echo "install-lab: $*"; }

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep postinst scripts from starting daemons that would occupy the ports the lab uses.
    own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; fi
else
    log "Debian packages already installed"
fi

# Debian's postinst may still have started daemons (no systemd: via init scripts / pg_ctlcluster).
# The lab binds 127.0.0.1x-3x only, but a stray default instance wastes memory and confuses `ps`.
if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r ver name; do
        log "stopping Debian PostgreSQL cluster $ver/$name"
        pg_ctlcluster "$ver" "$name" stop -m fast || true
    done
fi
for svc in redis-server redis-sentinel etcd; do
    if [[ -x /etc/init.d/$svc ]] && /etc/init.d/$svc status >/dev/null 2>&1; then
        log "stopping $svc service"
        /etc/init.d/$svc stop >/dev/null 2>&1 || true
    fi
done
# Daemons from the Debian packages run as their package users; anything left is a postinst leftover.
for pair in redis:redis-server redis:redis-sentinel etcd:etcd; do
    user=${pair%%:*} comm=${pair##*:}
    for pid in $(pgrep -u "$user" -x "$comm" 2>/dev/null || true); do
        log "stopping leftover $comm (pid $pid)"
        kill "$pid" 2>/dev/null || true
    done
done

# Patroni from PyPI: Debian ships 3.0.2, the platform targets 4.x. The venv uses Debian's python so
# that user `postgres` can read the interpreter (the default python3 may live under /root).
if [[ -x $VENV/bin/patroni ]] && "$VENV/bin/patroni" --version 2>/dev/null | grep -q ' 4\.'; then
    log "patroni venv ok: $("$VENV/bin/patroni" --version)"
else
    log "building patroni venv at $VENV"
    mkdir -p "$(dirname "$VENV")"
    rm -rf "$VENV"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q "$PATRONI_SPEC"
    log "installed $("$VENV/bin/patroni" --version)"
fi
# Only our own paths: /opt/datalyptica may hold other tools.
chmod a+rx "$(dirname "$VENV")"
chmod -R a+rX "$VENV"

# The clients our Airflow and Superset configurations use, pinned to what those images ship
# (Celery/kombu through Sentinel, Flask-Caching; boto3 as Airflow 3.0.2's Amazon provider pins it):
# the Redis TLS and MinIO TLS tests run the rendered settings.
CLIENTS=${DATALYPTICA_REDIS_CLIENTS_VENV:-/opt/datalyptica/redis-clients-venv}
CLIENTS_SPEC=(celery==5.5.3 kombu==5.5.4 redis==5.2.1 Flask==3.1.1 Flask-Caching==2.3.1 boto3==1.37.3 botocore==1.37.3)
if [[ -x $CLIENTS/bin/python ]] && "$CLIENTS/bin/python" -c 'import celery, flask_caching, boto3' 2>/dev/null; then
    log "redis clients venv ok"
else
    log "building redis clients venv at $CLIENTS"
    rm -rf "$CLIENTS"
    /usr/bin/python3 -m venv "$CLIENTS"
    "$CLIENTS/bin/pip" install -q "${CLIENTS_SPEC[@]}"
fi

for b in /usr/lib/postgresql/15/bin/postgres /usr/bin/etcd /usr/bin/etcdctl /usr/bin/redis-server \
    /usr/bin/redis-sentinel /usr/bin/redis-cli "$VENV/bin/patroni" "$VENV/bin/patronictl" "$CLIENTS/bin/python" /usr/bin/openssl; do
    [[ -x $b ]] || { log "missing $b after install"; exit 1; }
done
log "ok"
