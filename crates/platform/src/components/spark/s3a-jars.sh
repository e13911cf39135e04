set -eu
cd {{dir}}
get() {
  f="${1##*/}"
  curl -fsSL --retry 5 --retry-connrefused --connect-timeout 10 -o "$f.part" "{{maven_central}}/$1"
  echo "$2  $f.part" | sha256sum -c -
  mv "$f.part" "$f"
}
{{downloads}}