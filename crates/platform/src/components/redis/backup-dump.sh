set -eu
addr=$(redis-cli {{tls}} -h {{sentinel}}-sentinel.{{ns}}.svc -p 26379 --raw SENTINEL get-master-addr-by-name {{group}})
host=$(echo "$addr" | sed -n 1p)
port=$(echo "$addr" | sed -n 2p)
test -n "$host"
REDISCLI_AUTH="$(cat {{pw}})" redis-cli {{tls}} -h "$host" -p "$port" --rdb /backup/dump.rdb
