#!/usr/bin/env bash
# `make test`: unit tests, release binaries, then every Integration/ script.
# Prints one summary line at the end: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
failures=()

step() {  # step NAME COMMAND...: runs a step, counts it
  local name=$1; shift
  echo "=== $name"
  if "$@"; then passed=$((passed + 1)); echo "--- PASS $name"
  else failed=$((failed + 1)); failures+=("$name"); echo "--- FAIL $name"; fi
}

step "swift build (debug, tests)" swift build --build-tests
# One test at a time: many tests fork and pass descriptors, and tests running side by side in
# one process share its descriptor table (a once-in-six failure of a control-socket test
# was seen under load).
step "swift test" swift test --skip-build --no-parallel
# The agent's SSH core (one process per connection, as in the agent) against OpenSSH's ssh, sftp, scp.
step "ssh-session harness" env HARNESS_BIN="$(swift build --show-bin-path)/ssh-session-harness" bash Tests/Harness/ssh-session/check.sh
# Every fuzz target for a few seconds on its seeds and past findings: a regression fails here.
step "fuzz targets (5 s each)" env FUZZ_SECONDS=5 bash scripts/fuzz.sh
step "make dist" make --no-print-directory dist

if [ -x dist/converge ]; then
  for script in Integration/[0-9][0-9]-*.sh; do
    name=$(basename "$script" .sh)
    echo "=== $name"
    start=$(date +%s)
    timeout --kill-after=10 600 bash "$script"
    rc=$?
    took=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then passed=$((passed + 1)); echo "--- PASS $name (${took}s)"
    elif [ $rc -eq 77 ]; then skipped=$((skipped + 1)); echo "--- SKIP $name (${took}s)"
    else failed=$((failed + 1)); failures+=("$name"); echo "--- FAIL $name (exit $rc, ${took}s)"; fi
  done
fi

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
if [ $skipped -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"
else echo "$passed passed, $failed failed"; fi
[ $failed -eq 0 ]
