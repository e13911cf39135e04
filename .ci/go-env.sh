# Sourced by the scripts that build Go programs into /opt/datalyptica (install-k8s.sh,
# install-etcd.sh, install-minio.sh): one module and build cache outside the clone, shared by
# all of them, so a warm machine rebuilds nothing; the installed Go only (no toolchain
# download); static binaries. DATALYPTICA_GOMODCACHE / DATALYPTICA_GOCACHE override the caches.
export GOMODCACHE=${DATALYPTICA_GOMODCACHE:-/opt/datalyptica/go/mod}
export GOCACHE=${DATALYPTICA_GOCACHE:-/opt/datalyptica/go/cache}
export GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=local
export CGO_ENABLED=0
