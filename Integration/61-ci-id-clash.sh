#!/usr/bin/env bash
# A re-run of a CI job reuses its --id while the first run's agent may still wait: the
# second agent must not fail the job. It registers under a fresh ID derived from the one
# asked for, says so in one prominent line and in its banner, and both agents are reachable.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
start_job_agent --key carol rerun-42 --timeout 60s
FIRST_PID=$AGENT_PID

echo "a second agent asks for the same ID"
authorize carol rerun-42b
SECOND_LOG=$T/agent-rerun-42b.log
(cd "$T/job-rerun-42b" && touch .hold && HOME="$T/job-rerun-42b" GITHUB_STEP_SUMMARY="$T/summary.md" \
  exec "$DIST/agent" --id rerun-42 --timeout 60s "ws://$SERVER") >"$SECOND_LOG" 2>&1 &
SECOND_PID=$!
started $SECOND_PID
wait_until 20 grep -q 'agent ready' "$SECOND_LOG"
check "the second agent registers instead of failing" grep -q 'agent ready' "$SECOND_LOG"
check "the second agent still runs" kill -0 $SECOND_PID
FRESH=$(sed -n 's/.*this agent registers as \([A-Za-z0-9._-]*\) instead.*/\1/p' "$SECOND_LOG" | head -1)
check "its fresh ID is the one asked for plus 4 hex digits" grep -qE '^rerun-42-[0-9a-f]{4}$' <<<"$FRESH"
expect_eq "the prominent line is said once" 1 "$(grep -c '\*\*\* ID rerun-42 is held by another agent: this agent registers as' "$SECOND_LOG")"
expect_contains "the banner names the fresh ID and the clash" "agent ready: ID $FRESH is registered at ws://$SERVER (rerun-42 is held by another agent)" "$(cat "$SECOND_LOG")"
expect_contains "the banner's commands use the fresh ID" "wsproxy ws://$SERVER/client/$FRESH" "$(cat "$SECOND_LOG")"
expect_contains "the job summary names the fresh ID and the clash" "- ID: \`$FRESH\` (\`rerun-42\` is held by another agent)" "$(cat "$T/summary.md" 2>/dev/null)"
check "the server refused the ID first (409)" grep -q 'refused 409: ID rerun-42 is in use by another agent' "$SERVER_LOG"

echo "both agents are reachable, each under its own ID"
expect_eq "ssh to the first ID reaches the first job" "$T/job-rerun-42" "$(job_ssh rerun-42 me@localhost 'pwd')"
expect_eq "ssh to the fresh ID reaches the second job" "$T/job-rerun-42b" "$(job_ssh "$FRESH" me@localhost 'pwd')"
check "the first agent still runs" kill -0 $FIRST_PID

echo "a long ID stays valid"
LONG=$(printf 'L%.0s' $(seq 64))
authorize carol long
(cd "$T/job-long" && (HOME="$T/job-long" exec "$DIST/agent" --id "$LONG" --timeout 60s "ws://$SERVER") >"$T/long1.log" 2>&1 &
 echo $! >"$T/long1.pid")
started "$(cat "$T/long1.pid")"
wait_until 20 grep -q 'agent ready' "$T/long1.log"
(cd "$T/job-long" && (HOME="$T/job-long" exec "$DIST/agent" --id "$LONG" --timeout 60s "ws://$SERVER") >"$T/long2.log" 2>&1 &
 echo $! >"$T/long2.pid")
started "$(cat "$T/long2.pid")"
wait_until 20 grep -q 'agent ready' "$T/long2.log"
LONG_FRESH=$(sed -n 's/.*this agent registers as \([A-Za-z0-9._-]*\) instead.*/\1/p' "$T/long2.log" | head -1)
expect_eq "a 64-character ID gets a fresh ID of 64 characters" 64 "${#LONG_FRESH}"
check "it starts with the ID asked for, shortened" grep -qE "^L{59}-[0-9a-f]{4}$" <<<"$LONG_FRESH"
finish
