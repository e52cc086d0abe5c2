#!/usr/bin/env bash
# `make soak` (not part of `make test`): PARALLEL (50) sftp transfers at a time, mixed get
# and put of files from 1 KiB to 16 MiB, through the real converge and agent, while splice
# workers, clients (sftp, its ssh or its wsproxy) and the agent's session processes are
# killed with SIGKILL at random. Every transfer sftp calls a success must be byte-exact, every
# interrupted one must be reported by a non-zero exit, none may hang; afterwards no worker,
# session process or zombie is left and the server's and agent's descriptor counts are
# back where they started. Prints the counts; exits non-zero on any violation.
#
# usage: scripts/soak.sh [--duration 3m] [--parallel 50]   (duration: Ns or Nm, at most 12m)
source "$(dirname "$0")/../Integration/lib.sh"
source "$TOOLS/lifecycle.sh"
source "$TOOLS/faults.sh"

DURATION=180 PARALLEL=50
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --parallel) PARALLEL=$2; shift 2 ;;
    *) echo "usage: $0 [--duration 3m] [--parallel 50]" >&2; exit 2 ;;
  esac
done
case "$DURATION" in
  *m) DURATION=$(( ${DURATION%m} * 60 )) ;;
  *s) DURATION=${DURATION%s} ;;
esac
[[ "$DURATION" =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 10 ] && [ "$DURATION" -le 720 ] \
  || { echo "--duration: between 10s and 12m (the whole soak stays under 15 minutes)" >&2; exit 2; }
[[ "$PARALLEL" =~ ^[0-9]+$ ]] && [ "$PARALLEL" -ge 1 ] && [ "$PARALLEL" -le 200 ] || { echo "--parallel: 1 to 200" >&2; exit 2; }
TRANSFER_LIMIT=120  # seconds: a transfer still running after this has hung
ulimit -n 8192 || { echo "cannot raise the descriptor limit to 8192" >&2; exit 1; }

# The limits that would refuse the soak's own load are raised past it, since refusals are
# not what is being tested: every connection comes from 127.0.0.1 (per address: 256), all
# PARALLEL sessions are with one ID (per ID: 32) and may all be logging in at once (the
# agent's max_unauthenticated: 10).
start_server --max-connections-per-address 2000 --max-sessions-per-id $((PARALLEL + 10)) || exit 1
mkdir -p "$T/job-soak/src" "$T/job-soak/up" "$T/src" "$T/got"
start_job_agent --key soak soak --timeout 120s --max-unauthenticated $((PARALLEL + 10))
SIZES=(1031 307200 1048589 4194304 9437185 16777216)
for i in "${!SIZES[@]}"; do
  head -c "${SIZES[$i]}" /dev/urandom >"$T/src/f$i"
  cp "$T/src/f$i" "$AGENT_DIR/src/f$i"
  SHAS[$i]=$(sha "$T/src/f$i")
done
wait_until 10 metric_is converge_agents_waiting 1
server_fds=$(fd_count "$SERVER_PID") agent_fds=$(fd_count "$AGENT_PID")
END=$(( $(date +%s) + DURATION ))

# slot N: transfers one after another until END; one result line each in $T/results:
# "KIND SIZE RC VERDICT", VERDICT one of ok, reported (sftp exited non-zero), killed (sftp
# itself was SIGKILLed), silently-bad (exit 0 but not byte-exact) or hung (still running
# after TRANSFER_LIMIT: `timeout` ends it, status 124).
slot() {
  local n=$1 i kind f local_file remote verdict rc
  for ((i = 0; i < 10000 && $(date +%s) < END; i++)); do
    f=$((RANDOM % ${#SIZES[@]}))
    if [ $((RANDOM % 2)) -eq 0 ]; then
      kind=get local_file=$T/got/$n-$i remote=src/f$f
      echo "get $remote $local_file" >"$T/batch-$n"
    else
      kind=put local_file=$T/src/f$f remote=up/$n-$i
      echo "put $local_file $remote" >"$T/batch-$n"
    fi
    timeout -k 5 "$TRANSFER_LIMIT" sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/soak" \
      -b "$T/batch-$n" me@localhost >"$T/sftp-$n.log" 2>&1
    rc=$?
    if [ $rc -eq 124 ]; then verdict=hung
    elif [ $rc -eq 137 ]; then verdict=killed
    elif [ $rc -ne 0 ]; then verdict=reported
    elif [ $kind = get ] && [ "$(sha "$local_file")" = "${SHAS[$f]}" ]; then verdict=ok
    elif [ $kind = put ] && [ "$(sha "$AGENT_DIR/$remote")" = "${SHAS[$f]}" ]; then verdict=ok
    else verdict=silently-bad; cp "$T/sftp-$n.log" "$T/bad-$n-$i.log"
    fi
    echo "$kind ${SIZES[$f]} $rc $verdict" >>"$T/results"
    [ $kind = get ] && rm -f "$local_file"
    [ $kind = put ] && rm -f "$AGENT_DIR/$remote"
  done
}

# client_processes: sftp, ssh and wsproxy processes below this script (one ps, not a pgrep per level).
client_processes() {
  ps -eo pid=,ppid=,comm= | awk -v root=$$ '
    { parent[$1] = $2; name[$1] = $3 }
    END { for (p in parent) if (name[p] ~ /^(sftp|ssh|wsproxy)$/) {
            for (q = parent[p]; q > 1; q = parent[q]) if (q == root) { print p; break } } }'
}

# chaos: until END, every 0.2-0.9 s SIGKILL one random splice worker, client process or
# agent session process; one line per kill in $T/kills.
chaos() {
  local i victims kind
  for ((i = 0; i < 10000 && $(date +%s) < END; i++)); do
    sleep "0.$((RANDOM % 8 + 2))"
    case $((RANDOM % 3)) in
      0) kind=worker victims=($(children "$SERVER_PID" '^converge: session ')) ;;
      1) kind=client victims=($(client_processes)) ;;
      2) kind=session victims=($(children "$AGENT_PID" '^agent: session for')) ;;
    esac
    [ ${#victims[@]} -gt 0 ] || continue
    kill -KILL "${victims[$((RANDOM % ${#victims[@]}))]}" 2>/dev/null && echo "$kind" >>"$T/kills"
  done
}

echo "soak: $PARALLEL sftp transfers at a time for ${DURATION}s, with random SIGKILLs (workers, clients, session processes)"
touch "$T/results" "$T/kills"
slots=()
# (A slot's stderr holds only bash's "Killed" notes for the sftp runs chaos killed.)
for ((n = 0; n < PARALLEL; n++)); do slot "$n" 2>>"$T/slots.err" & slots+=($!); started $!; done
chaos & started $!
chaos_pid=$!
wait "$chaos_pid"
for pid in "${slots[@]}"; do wait "$pid"; done  # each ends within TRANSFER_LIMIT of END

count() { grep -c " $1\$" "$T/results"; }
kills() { grep -c "^$1\$" "$T/kills"; }
completed=$(count ok) reported=$(count reported) killed=$(count killed) silent=$(count silently-bad) hung=$(count hung)
echo "transfers: $(wc -l <"$T/results") ($(grep -c '^get ' "$T/results") get, $(grep -c '^put ' "$T/results") put)"
echo "kills: $(kills worker) splice workers, $(kills client) clients, $(kills session) agent session processes"
echo "completed (byte-exact): $completed"
echo "interrupted and reported (sftp exited non-zero): $reported, and sftp itself killed: $killed"
echo "silently bad (exit 0, not byte-exact): $silent"
echo "hung (killed after ${TRANSFER_LIMIT}s): $hung"

echo "after the soak"
wait_until 15 metric_is converge_sessions_active 0 && wait_until 15 no_children "$AGENT_PID" \
  && wait_until 15 fds_are "$SERVER_PID" "$server_fds" && wait_until 15 fds_are "$AGENT_PID" "$agent_fds"
expect_eq "silently bad transfers" 0 "$silent"
expect_eq "hung transfers" 0 "$hung"
check "some transfers completed and some were interrupted (completed $completed, interrupted $reported)" test "$completed" -gt 0 -a "$reported" -gt 0
# A kill ends one transfer at most: more failures than kills would be failures nobody caused.
total_kills=$(wc -l <"$T/kills")
check "every failure is explained by a kill ($((reported + killed)) failed, $total_kills kills)" test $((reported + killed)) -le "$total_kills"
check "the server and the agent are still running" kill -0 "$SERVER_PID" "$AGENT_PID"
expect_eq "sessions the server still relays" 0 "$(metric converge_sessions_active)"
expect_eq "splice workers left" "" "$(children "$SERVER_PID" '^converge: session ')"
expect_eq "the server's children: its one spare worker" 1 "$(children "$SERVER_PID" | wc -l)"
expect_eq "zombies under the server" 0 "$(zombies_under "$SERVER_PID")"
expect_eq "agent children left (session processes, orphans, zombies)" "" "$(children "$AGENT_PID")"
expect_eq "the server's descriptors, before and after" "$server_fds" "$(fd_count "$SERVER_PID")"
expect_eq "the agent's descriptors, before and after" "$agent_fds" "$(fd_count "$AGENT_PID")"
# By the server's URL on their command lines, anywhere: a killed sftp's ssh and wsproxy
# are orphans, outside this script's tree.
expect_eq "sftp/ssh/wsproxy processes left" "" "$(pgrep -f -- "ws://$SERVER/client/soak")"
check "the agent is still registered" metric_is converge_agents_waiting 1
expect_eq "a new session works" "after" "$(job_ssh soak me@localhost 'echo after')"
finish
