#!/usr/bin/env bash
# The agent keeps itself reachable: it re-registers (with backoff, logged) when the
# server goes away and comes back; a second agent for a taken ID is refused it (409)
# and registers under a fresh ID instead (61-ci-id-clash.sh has the details).
source "$(dirname "$0")/lib.sh"
start_server || exit 1
start_job_agent --key erin r1 --timeout 120s
expect_eq "a session works before the restart" "before" "$(job_ssh r1 me@localhost 'echo before')"

echo "a second agent for the same ID"
authorize erin r1b
(cd "$T/job-r1b" && timeout 20 "$DIST/agent" --id r1 --timeout 3s "ws://$SERVER") >"$T/second.log" 2>&1
expect_eq "a second agent for a taken ID does not fail (it ends after its --timeout)" 0 "$?"
expect_contains "it says the ID is held and takes another" "*** ID r1 is held by another agent: this agent registers as r1-" "$(cat "$T/second.log")"
expect_eq "the first agent still serves" "still" "$(job_ssh r1 me@localhost 'echo still')"

echo "server restart"
kill -9 "$SERVER_PID"
sleep 2
"$DIST/converge" --listen "$SERVER" --downloads "$DIST" >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
started $SERVER_PID
wait_until 10 curl -fsS -o /dev/null "http://$SERVER/metrics"
check "the agent logs its retries" grep -q "retrying in" "$AGENT_LOG"
wait_until 15 bash -c "[ \"\$(curl -fsS http://$SERVER/metrics | awk '/^converge_agents_waiting/ {print \$2}')\" = 1 ]" \
  && pass "the agent registers again within 15 s of the server's return" || fail "the agent registers again within 15 s of the server's return"
expect_eq "a session works after the restart" "after" "$(job_ssh r1 me@localhost 'echo after')"
finish
