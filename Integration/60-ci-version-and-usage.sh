#!/usr/bin/env bash
# What a CI user reads first: `--version` on every program (stamped by `make dist`), the
# server's version on its docs page and in /metrics, usage errors that name the unknown
# option first, and `agent --help` laid out cleanly.
source "$(dirname "$0")/lib.sh"
VERSION=$(cat "$ROOT/VERSION")
# The commit dist/ was built from (HEAD may have moved on since `make dist`).
COMMIT=$("$DIST/converge" --version | sed -n 's/.*(commit \([0-9a-f]*\).*/\1/p')

echo "--version"
check "make dist stamped a commit of this repository (${COMMIT:-none})" bash -c '[ ${#0} -eq 12 ] && git -C "$1" cat-file -e "$0^{commit}"' "$COMMIT" "$ROOT"
for program in converge agent wsproxy tcptows; do
  out=$("$DIST/$program" --version 2>&1)
  expect_eq "$program --version exits 0" 0 "$?"
  expect_contains "$program --version says the version and commit" "$VERSION (commit $COMMIT" "$out"
done

echo "the server shows its build"
start_server || exit 1
expect_contains "the docs page footer names the version" "<footer><p>Converge $VERSION (commit <code>$COMMIT" "$(curl -fsS "http://$SERVER/")"
expect_contains "/metrics has converge_build_info" "converge_build_info{version=\"$VERSION\",commit=\"$COMMIT" "$(curl -fsS "http://$SERVER/metrics")"
check "the server logs its version at start" grep -q "converge: version $VERSION (commit $COMMIT" "$SERVER_LOG"

echo "an agent this server cannot serve is refused for its version"
mkdir -p "$T/job-old"
cp "$DIST/agent" "$T/old-agent"
bash "$ROOT/scripts/stamp-build.sh" 0.0.9 0123456789ab "$T/old-agent"
expect_eq "the copy says it is 0.0.9" "0.0.9 (commit 0123456789ab)" "$("$T/old-agent" --version)"
ssh-keygen -q -t ed25519 -N '' -f "$T/key" && cp "$T/key.pub" "$T/job-old/.authorized_keys"
out=$(cd "$T/job-old" && timeout 20 "$T/old-agent" --id old "ws://$SERVER" 2>&1)
expect_eq "the old agent exits 1" 1 "$?"
expect_contains "it says to download the agent again from this server" "download the agent again from http://$SERVER/docs/agent" "$out"
expect_contains "it names both versions" "this agent (0.0.9) is older than the oldest this server ($VERSION) serves" "$out"
expect_contains "the refusal is counted" 'converge_connections_refused_total{reason="agent_version"} 1' "$(curl -fsS "http://$SERVER/metrics")"
check "the server logs it with the limit's name" grep -q 'refused 426: .*(limit: agent_version)' "$SERVER_LOG"

echo "usage errors name the unknown option first"
for program in agent wsproxy tcptows converge; do
  out=$("$DIST/$program" --no-such-flag 2>&1)
  expect_eq "$program --no-such-flag exits 2" 2 "$?"
  expect_eq "$program --no-such-flag names it on the first line" "$program: Unknown option '--no-such-flag'" "$(head -1 <<<"$out")"
done
out=$("$DIST/agent" --timeout 5m --no-such-flag 2>&1)
expect_eq "agent names the unknown option among good ones" "agent: Unknown option '--no-such-flag'" "$(head -1 <<<"$out")"
out=$("$DIST/agent" --timeout 5m 2>&1)
expect_eq "without an unknown option, the missing URL is said" "agent: Missing expected argument '<url>'" "$(head -1 <<<"$out")"

echo "agent --help"
help=$("$DIST/agent" --help)
check "the Exit status paragraph starts at the margin" grep -qE '^Exit status: 0 for every normal end' <<<"$help"
check "no line of the help has 8 stray spaces before Exit status" bash -c '! grep -qE "^ {3,}Exit status" <<<"$0"' "$help"
finish
