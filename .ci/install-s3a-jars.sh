#!/usr/bin/env bash
# Downloads the S3A jars the Spark History Server fetches at start (hadoop-aws 3.3.4 and
# aws-java-sdk-bundle 1.12.262, about 280 MB) from Maven Central into a local mirror laid out as
# Maven Central is, each checked against the SHA-1 Maven Central publishes beside it (not
# against the tree's sha256 pins, which the test checks). Cached under /opt/datalyptica/maven.
# Prints on stdout only:   export DATALYPTICA_MAVEN_MIRROR=file:///opt/datalyptica/maven
# so:                      eval "$(bash .ci/install-s3a-jars.sh)"
set -euo pipefail

ROOT=${DATALYPTICA_MAVEN_ROOT:-/opt/datalyptica/maven}
CENTRAL=https://repo1.maven.org/maven2
JARS=(
    org/apache/hadoop/hadoop-aws/3.3.4/hadoop-aws-3.3.4.jar
    com/amazonaws/aws-java-sdk-bundle/1.12.262/aws-java-sdk-bundle-1.12.262.jar
)

log() { echo "install-s3a-jars: $*" >&2; }

for jar in "${JARS[@]}"; do
    dest="$ROOT/$jar"
    if [ -s "$dest" ] && [ -s "$dest.sha1" ]; then
        continue
    fi
    log "downloading $jar"
    mkdir -p "$(dirname "$dest")"
    curl -fsSL --retry 5 --retry-connrefused --connect-timeout 20 -o "$dest.sha1.part" "$CENTRAL/$jar.sha1"
    curl -fsSL --retry 5 --retry-connrefused --connect-timeout 20 -o "$dest.part" "$CENTRAL/$jar"
    want=$(cut -c1-40 "$dest.sha1.part")
    got=$(sha1sum "$dest.part" | cut -c1-40)
    if [ "$want" != "$got" ]; then
        log "$jar: SHA-1 $got, Maven Central publishes $want"
        rm -f "$dest.part" "$dest.sha1.part"
        exit 1
    fi
    mv "$dest.part" "$dest"
    mv "$dest.sha1.part" "$dest.sha1"
done
echo "export DATALYPTICA_MAVEN_MIRROR=file://$ROOT"
