#!/usr/bin/env bash
# A restarted server gets its waiting agents back within 10 s of answering again, however
# long it was away: after a crash (kill -9) and an 18 s outage (long enough that a backoff
# growing past 10 s would miss the bound), and after a clean stop (SIGTERM) and an
# immediate restart. Sessions work again afterwards, with every agent.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/lifecycle.sh"
source "$TOOLS/faults.sh"
AGENTS=(rs1 rs2 rs3)
start_server || exit 1
pids=()
for id in "${AGENTS[@]}"; do
  start_job_agent --key ron "$id" --timeout 120s
  pids+=("$AGENT_PID")
done
waiting() { metric_is converge_agents_waiting "${#AGENTS[@]}"; }
wait_until 10 waiting || fail "all agents wait before the restarts"
expect_eq "a session works before" "before" "$(job_ssh rs1 me@localhost 'echo before')"

# restart_server: converge again on the same address; t0 is when it answers.
restart_server() {
  "$DIST/converge" --listen "$SERVER" --downloads "$DIST" >>"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  started $SERVER_PID
  wait_until 10 curl -fsS -o /dev/null "http://$SERVER/metrics" || { fail "the server starts again"; finish; }
  t0=$(now)
}

echo "1. crash (kill -9), 18 s away"
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
sleep 18
restart_server
wait_until 15 waiting; took=$(elapsed "$t0")
check "all ${#AGENTS[@]} agents are waiting again within 10 s of the server answering (took ${took}s)" within 0 10 "$took"
expect_eq "each under its own ID" "${#AGENTS[@]}" "$(metric converge_agent_ids)"
check "the agents log their retries" grep -q "retrying in" "$T/agent-rs1.log"

echo "2. clean stop (SIGTERM), restarted at once"
kill -TERM "$SERVER_PID"
exited_within 10 "$SERVER_PID"
expect_eq "the server exits 0 on SIGTERM" 0 "$STATUS"
restart_server
wait_until 15 waiting; took=$(elapsed "$t0")
check "all ${#AGENTS[@]} agents are waiting again within 10 s of the server answering (took ${took}s)" within 0 10 "$took"

for id in "${AGENTS[@]}"; do
  expect_eq "a session with $id works after the restarts" "after $id" "$(job_ssh "$id" me@localhost "echo after $id")"
done
check "no agent gave up" kill -0 "${pids[@]}"
finish
