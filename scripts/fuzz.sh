#!/usr/bin/env bash
# `make fuzz`: libFuzzer over every parser that reads bytes from the network or a file.
# Builds Fuzz/ with libFuzzer and AddressSanitizer, runs each target on a scratch copy of
# its seeds (Fuzz/corpus/TARGET is never written), prints executions and coverage per
# target, and exits 1 on any finding (crash, hang, leak, sanitizer report, broken
# invariant); the input that caused it is kept under the output directory.
#
#   scripts/fuzz.sh [TARGET...]        (default: every target)
#   FUZZ_SECONDS=300   time per target      FUZZ_RUNS=N   executions per target instead
#   FUZZ_OUT=DIR       logs, corpora and findings (default: a new directory under /tmp)
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-300}
runs=${FUZZ_RUNS:-}
keep=${FUZZ_OUT:+yes}
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/converge-fuzz.XXXXXX")}
out=$(cd "$(mkdir -p "$out" && echo "$out")" && pwd)  # absolute: the SFTP target changes directory
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http-request http-response http-body websocket agent-leg sftp authorized-keys urls secrets)

build=(swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing)
"${build[@]}" 2>&1 | grep -v "Cannot export local symbol" || true  # ld.gold's harmless warnings
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: the build failed" >&2; exit 1; }
bin=$("${build[@]}" --show-bin-path)

if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$seconds"); fi
# Smaller allocation stacks and quarantine: much faster, and reports still name the bug.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=2:quarantine_size_mb=32:detect_leaks=1}
export SWIFT_BACKTRACE=enable=no  # libFuzzer prints the stack; Swift's backtracer under ASan only adds noise

mkdir -p "$out/artifacts"
printf '%-16s %12s %8s %6s %7s %6s  %s\n' target execs exec/s cov ft corpus result
findings=0
for target in "${targets[@]}"; do
  corpus="$out/corpus/$target"
  rm -rf "$corpus" && mkdir -p "$corpus" && cp Fuzz/corpus/"$target"/* "$corpus"/
  dict=()
  [ -f Fuzz/dictionaries/"$target".dict ] && dict=(-dict="$PWD/Fuzz/dictionaries/$target.dict")
  log="$out/$target.log"
  "$bin/fuzz-$target" "${limit[@]}" "${dict[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$target-" "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  if [ $rc -eq 0 ]; then result=ok
  else
    findings=$((findings + 1))
    why=$(grep -m1 -E 'Fatal error|ERROR: ' "$log" | cut -c1-160)
    result="FINDING: ${why:-exit $rc, see $log}"
  fi
  printf '%-16s %12s %8s %6s %7s %6s  %s\n' "$target" "${execs:--}" "${speed:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$result"
done

if [ $findings -gt 0 ]; then
  echo "logs, corpora and findings: $out"
  ls "$out"/artifacts/ | sed "s|^|  input: $out/artifacts/|"
  echo "fuzz: $findings target(s) found something: reproduce with $bin/fuzz-TARGET INPUT" >&2
  exit 1
fi
if [ -n "$keep" ]; then echo "logs and grown corpora: $out"; else rm -rf "$out"; fi
