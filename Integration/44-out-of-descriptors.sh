#!/usr/bin/env bash
# converge runs out of file descriptors: its limit is lowered (prlimit) under a live server
# and 60 silent connections come in. Those it cannot accept are answered 503 "out of file
# descriptors" (one a second, through a descriptor it keeps in reserve), each refusal is
# logged and counted, the master does not spin on its readable listener, a session that
# was running goes on, and once the connections are gone the server serves as before.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/lifecycle.sh"
source "$TOOLS/faults.sh"
# All connections come from 127.0.0.1 and must stay open while they wait for their head.
start_server --max-connections-per-address 1000 --head-timeout 60s || exit 1
start_job_agent --key ivy fd --timeout 120s
expect_eq "a session works before" before "$(job_ssh fd me@localhost 'echo before')"

echo "a session runs through the shortage"
begin real "$AGENT_PID" bg_ssh fd 'for i in $(seq 1 50); do echo tick $i; sleep 0.2; done'
REAL=$CLIENT
wait_until 10 grep -q 'tick 1' "$T/real.out"

echo "60 silent connections against a limit of 32 descriptors"
check "the server's descriptor limit is lowered to 32" prlimit --pid "$SERVER_PID" --nofile=32:32
# CPU time (user + system, in clock ticks) the server has used so far.
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$SERVER_PID/stat"; }
timeout 30 python3 "$TOOLS/hostile.py" hold "$SERVER" 60 8 >"$T/hold.out" 2>&1 &
HOLD=$!
started $HOLD
wait_until 5 grep -q 'out of file descriptors' "$SERVER_LOG"
ticks_before=$(cpu_ticks)
sleep 4
ticks_after=$(cpu_ticks)
hz=$(getconf CLK_TCK)
spent=$(( (ticks_after - ticks_before) * 1000 / hz ))
check "out of descriptors, the server does not spin (${spent} ms of CPU in 4 s)" test "$spent" -lt 400
exited_within 20 "$HOLD"
line=$(cat "$T/hold.out")
echo "  $line"
status503=$(awk '{ print $5 }' <<<"$line")
held=$(awk '{ print $7 }' <<<"$line")
check "connections it could not take were answered 503 out of file descriptors ($status503)" test "${status503:-0}" -ge 3
check "the connections it took stayed open, waiting for their heads ($held)" test "${held:-0}" -ge 15
check "each refusal is logged, with what to do" grep -q 'refused a connection: out of file descriptors (raise the limit with ulimit -n)' "$SERVER_LOG"

echo "recovery"
check "once the connections are gone, the server answers again" wait_until 10 curl -fsS -o /dev/null "http://$SERVER/docs"
refused=$(metric 'converge_connections_refused_total{reason="out_of_descriptors"}')
check "the refusals are counted in /metrics (${refused:-none})" test "${refused:-0}" -ge "${status503:-1}"
exited_within 30 "$REAL"
expect_eq "the running session exits 0" 0 "$STATUS"
expect_eq "and got all 50 ticks, in order" "$(seq -f 'tick %g' 1 50)" "$(grep '^tick ' "$T/real.out")"
check "the agent has a connection waiting again" wait_until 20 metric_is converge_agents_waiting 1
expect_eq "a new session works after" after "$(job_ssh fd me@localhost 'echo after')"
check "it is the same server process" kill -0 "$SERVER_PID"
finish
