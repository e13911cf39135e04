set -eu
umask 077
esc() { sed 's/\\/\\\\/g' "$1"; }
{
{{properties}}} > {{out}}
