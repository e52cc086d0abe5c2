#!/usr/bin/env bash
# stamp-build.sh VERSION COMMIT BINARY...: writes "VERSION COMMIT" into each binary's
# .converge_build section (CShims/build_stamp.c), which --version, the docs page footer and
# /metrics read. `make dist` runs it on the finished copies in dist/, so stamping a new
# commit rebuilds nothing.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 VERSION COMMIT BINARY..." >&2; exit 2; }
version=$1 commit=$2
shift 2
stamp="$version $commit"
size=128   # CSHIM_BUILD_STAMP_SIZE; the last byte stays NUL
[[ "$stamp" =~ ^[!-~]+\ [!-~]+$ ]] || { echo "$0: version and commit must be printable, without spaces: '$stamp'" >&2; exit 2; }
[ ${#stamp} -lt $size ] || { echo "$0: '$stamp' is longer than $((size - 1)) bytes" >&2; exit 2; }
record=$(mktemp)
trap 'rm -f "$record"' EXIT
{ printf '%s' "$stamp"; head -c $((size - ${#stamp})) /dev/zero; } >"$record"
for binary in "$@"; do
  objcopy --update-section .converge_build="$record" "$binary"
done
