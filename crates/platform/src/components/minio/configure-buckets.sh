set -eu
mkdir -p "$MC_CONFIG_DIR/certs/CAs"
cp /etc/trust/*.crt "$MC_CONFIG_DIR/certs/CAs/"
{{local_alias}}{{dr_alias}}for b in $BUCKETS; do
  mc version {{versioning}} "local/$b"
  mc ilm import "local/$b" < "/etc/minio-backup/lifecycle-$b.json"
{{replication}}done
echo configured $BUCKETS
