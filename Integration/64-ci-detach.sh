#!/usr/bin/env bash
# Detached mode, as a CI job uses it: `agent --detach` returns once registered and the
# job's next steps run while a person logs in; `agent --wait` in a later step waits for the
# agent (restarting --timeout if nobody came yet) and exits with its status; `agent --stop`
# ends it. Nothing is left behind in the job's directory.
source "$(dirname "$0")/lib.sh"
start_server || exit 1

# detach ID [ARGS...]: agent --detach in $T/job-ID (HOME too); sets OUT, RC, BG_PID.
detach() {
  local id=$1; shift
  authorize frank "$id"
  CLIENT_KEY=$T/frank
  OUT=$(cd "$T/job-$id" && HOME="$T/job-$id" timeout 60 "$DIST/agent" --detach --id "$id" "$@" 2>&1)
  RC=$?
  BG_PID=$(sed -n 's/^pid //p' "$T/job-$id/.converge-agent" 2>/dev/null | head -1)
  [ -z "$BG_PID" ] || started "$BG_PID"
}
# in_job ID COMMAND...: runs a later step of job ID (its directory and HOME).
in_job() { local id=$1; shift; (cd "$T/job-$id" && HOME="$T/job-$id" "$@"); }
# since T0: seconds since the time stamp T0 (date +%s.%N), to a tenth; at_least A B: A >= B.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
# gone PID: the process has ended (a zombie nobody reaped yet has ended too).
gone() { ! kill -0 "$1" 2>/dev/null || [[ "$(ps -o stat= -p "$1")" == Z* ]]; }
leftovers() { ls -A "$T/job-$1" | grep -v '^\.authorized_keys$' | grep -v '^\.hold$' | tr '\n' ' '; }

echo "detach, then a real ssh session while the job goes on"
detach d1 --timeout 60s "ws://$SERVER"
expect_eq "agent --detach exits 0 once registered" 0 "$RC"
expect_contains "it prints the banner" "agent ready: ID d1 is registered at ws://$SERVER" "$OUT"
expect_contains "it prints the known_hosts line" "known_hosts: converge-d1 ssh-ed25519 " "$OUT"
expect_contains "it says where the agent went" "running in the background (pid $BG_PID, log in converge-agent.log)" "$OUT"
check "the background agent runs" kill -0 "$BG_PID"
expect_eq "it has a session of its own" "$BG_PID" "$(ps -o sid= -p "$BG_PID" | tr -d ' ')"
check "its log is in the job's directory" grep -q 'agent ready: ID d1' "$T/job-d1/converge-agent.log"
# The job's next step runs while a person is logged in.
job_ssh d1 me@localhost 'echo in-session >session.txt; sleep 3; echo done >>session.txt' >/dev/null 2>&1 &
SSH_PID=$!
started $SSH_PID
in_job d1 sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.1; done; echo job-step-done >job.txt'
check "the job's next step ran while the agent waited" grep -q job-step-done "$T/job-d1/job.txt"
wait_until 10 grep -q in-session "$T/job-d1/session.txt"
check "the ssh session ran in the job meanwhile" grep -q in-session "$T/job-d1/session.txt"
WAIT_OUT=$(in_job d1 timeout 60 "$DIST/agent" --wait 2>&1)
WAIT_RC=$?
expect_eq "agent --wait exits with the agent's status (0: the client logged out)" 0 "$WAIT_RC"
check "--wait returned only after the session ended" grep -q done "$T/job-d1/session.txt"
expect_contains "--wait prints the banner again" "agent ready: ID d1" "$WAIT_OUT"
expect_contains "--wait follows the log (the login)" "client logged in" "$WAIT_OUT"
expect_contains "--wait says how it ended" "the background agent ended with status 0: exiting: the first client logged out" "$WAIT_OUT"
check "the background agent is gone" gone "$BG_PID"
expect_eq "nothing is left behind" "job.txt session.txt " "$(leftovers d1)"

echo "--wait restarts the waiting time when nobody logged in yet"
detach d2 --timeout 4s "ws://$SERVER"
expect_eq "agent --detach exits 0" 0 "$RC"
sleep 2.5   # the job's steps take 2.5 s of the 4 s
T0=$(date +%s.%N)
WAIT_OUT=$(in_job d2 timeout 60 "$DIST/agent" --wait 2>&1)
WAIT_RC=$?
ELAPSED=$(since "$T0")
expect_eq "--wait exits 0 (nobody logged in)" 0 "$WAIT_RC"
check "the agent waited a whole --timeout after --wait (${ELAPSED}s, not the 1.5 s left)" at_least "$ELAPSED" 3.5
expect_contains "the agent says the wait starts again" "agent --wait: nobody has logged in yet, so the wait starts again: up to 4s" "$WAIT_OUT"
expect_contains "--wait prints the banner again" "agent ready: ID d2" "$WAIT_OUT"
expect_contains "it ended for nobody logging in" "nobody logged in within 4s" "$WAIT_OUT"
expect_eq "nothing is left behind" "" "$(leftovers d2)"

echo "--stop ends it at once, sessions included"
detach d3 --timeout 60s "ws://$SERVER"
expect_eq "agent --detach exits 0" 0 "$RC"
job_ssh d3 me@localhost 'touch .hold; sleep 30' >"$T/d3-ssh.out" 2>&1 &
started $!
wait_until 10 grep -q 'client logged in' "$T/job-d3/converge-agent.log"
T0=$(date +%s.%N)
STOP_OUT=$(in_job d3 timeout 60 "$DIST/agent" --stop 2>&1)
STOP_RC=$?
ELAPSED=$(since "$T0")
expect_eq "agent --stop exits 0" 0 "$STOP_RC"
check "it took less than 10 s (${ELAPSED}s)" at_least 10 "$ELAPSED"
expect_contains "it says the agent was stopped" "stopped by SIGTERM" "$STOP_OUT"
check "the background agent is gone" gone "$BG_PID"
expect_eq "nothing is left behind" "" "$(leftovers d3)"

echo "a background agent killed outright"
detach d4 --timeout 60s "ws://$SERVER"
kill -KILL "$BG_PID"
WAIT_OUT=$(in_job d4 timeout 60 "$DIST/agent" --wait 2>&1)
expect_eq "--wait exits 1" 1 "$?"
expect_contains "it says the agent ended without saying why" "ended without saying why" "$WAIT_OUT"
expect_eq "nothing is left behind" "" "$(leftovers d4)"

echo "no agent, one too many, one that cannot register"
mkdir -p "$T/job-none"
out=$(in_job none "$DIST/agent" --wait 2>&1)
expect_eq "--wait with no background agent exits 1" 1 "$?"
expect_contains "it says there is none" "no background agent in this directory" "$out"
out=$(in_job none "$DIST/agent" --stop 2>&1)
expect_eq "--stop with no background agent exits 1" 1 "$?"
detach d5 --timeout 60s "ws://$SERVER"
FIRST=$BG_PID
out=$(in_job d5 "$DIST/agent" --detach --id d5b "ws://$SERVER" 2>&1)
expect_eq "a second --detach in the same directory exits 2" 2 "$?"
expect_contains "it names the running one" "a background agent already runs in this directory (pid $FIRST)" "$out"
in_job d5 "$DIST/agent" --stop >/dev/null 2>&1
DEAD=$(free_port)
detach d6 --timeout 3s "ws://127.0.0.1:$DEAD"
expect_eq "--detach that cannot register exits 1" 1 "$RC"
expect_contains "it says why" "could not be reached within --timeout 3s" "$OUT"
expect_eq "nothing is left behind" "" "$(leftovers d6)"
finish
