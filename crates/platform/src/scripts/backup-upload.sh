set -eu
mkdir -p "$MC_CONFIG_DIR/certs/CAs"
cp /etc/trust/*.crt "$MC_CONFIG_DIR/certs/CAs/"
{{mc_alias_set}}stamp=$(date -u +%Y%m%dT%H%M%SZ)
for f in /backup/*; do
  mc cp --quiet "$f" "store/{{bucket}}/{{prefix}}/$stamp-$(basename "$f")"
done
# The upload succeeded: a failed prune is reported, not fatal (on MinIO the bucket lifecycle expires them too).
mc rm --recursive --force --older-than {{retention_days}}d "store/{{bucket}}/{{prefix}}/" || echo "pruning {{prefix}} snapshots failed" >&2
echo "uploaded {{prefix}} backup $stamp"
