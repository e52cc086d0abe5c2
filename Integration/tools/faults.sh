# Helpers for the fault scripts (40s) and the soak: source after lib.sh and lifecycle.sh.
# Processes are found by pid and parent, never by a broad name, so that other tests
# running on the same machine are left alone.

# children PID [PATTERN]: the direct children of PID (zombies included), or only those
# whose command line (process title) matches PATTERN.
children() { pgrep -P "$1" ${2:+-f "$2"} 2>/dev/null; }

# new_child PARENT PATTERN BEFORE...: the first child matching PATTERN ("" for any) not in BEFORE.
new_child() {
  local parent=$1 pattern=$2 pid; shift 2
  for pid in $(children "$parent" "$pattern"); do
    [[ " $* " == *" $pid "* ]] || { echo "$pid"; return; }
  done
}

# wait_new_child SECONDS PARENT PATTERN BEFORE...: waits for new_child; prints its pid.
wait_new_child() {
  local limit=$1 tries pid; shift
  for ((tries = limit * 10; tries > 0; tries--)); do
    pid=$(new_child "$@")
    [ -n "$pid" ] && { echo "$pid"; return 0; }
    sleep 0.1
  done
  return 1
}

# any_alive PID...: true if any of them is still in the process table (a zombie counts).
any_alive() {
  local pid
  for pid in "$@"; do [ -e "/proc/$pid" ] && return 0; done
  return 1
}

none_alive() { ! any_alive "$@"; }

# gone_within SECONDS PID...: waits until none of the PIDs exists (nor is a zombie);
# sets TOOK (seconds, one decimal); false if some remain after SECONDS.
gone_within() {
  local limit=$1 t0 rc; shift
  [ $# -gt 0 ] || { echo "  (gone_within: no process given)"; TOOK=-; return 1; }
  t0=$(now)
  wait_until "$limit" none_alive "$@"; rc=$?
  TOOK=$(elapsed "$t0")
  return $rc
}

# zombies_under PID: how many zombies PID's tree holds.
zombies_under() {
  local pids
  pids=$(descendants "$1" | tr '\n' ',')
  [ -n "$pids" ] || { echo 0; return; }
  ps -o stat= -p "${pids%,}" 2>/dev/null | grep -c '^Z'
}

# fd_count PID: open descriptors of PID.
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# marked PATTERN: processes anywhere whose command line matches PATTERN (a marker made
# unique by the test, e.g. "sleep 4242.$$"), so leftovers that escaped a tree are found.
marked() { pgrep -f -- "$1" 2>/dev/null; }

# exited_within SECONDS PID: waits (bounded) for a background job of this shell; sets
# STATUS (its exit status; 124 if it was still running after SECONDS and was killed) and TOOK.
exited_within() {
  local limit=$1 pid=$2 t0 late=0
  t0=$(now)
  wait_until "$limit" none_alive "$pid" || { late=1; kill -KILL "$pid" 2>/dev/null; }
  wait "$pid" 2>/dev/null; STATUS=$?
  TOOK=$(elapsed "$t0")
  [ $late -eq 0 ] || STATUS=124
}

# Commands on the agent's side are marked `sleep ${MARK}N` (at most about 5 minutes):
# `marked N` finds them anywhere on the machine by their exact command line, so one that
# escaped every process tree is still seen, and kill_marked ends them when the test does.
MARK=300.$$
marked() { pgrep -f "^sleep ${MARK/./\\.}$1\$" 2>/dev/null; }
kill_marked() { local pids; pids=$(marked '[0-9]*'); [ -z "$pids" ] || kill -KILL $pids 2>/dev/null; }

# bg_ssh ID ARGS...: ssh to agent ID for use in the background: exec'd, so that $! is
# the ssh process itself.
bg_ssh() { local id=$1; shift; exec ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$id" me@localhost "$@"; }

# begin NAME AGENT COMMAND...: starts a client in the background (output in $T/NAME.out)
# for a session with the agent whose main pid is AGENT; sets CLIENT (its pid), SESSION
# (the agent's session process for it) and WORKER (the server's splice worker for it).
begin() {
  local name=$1 agent=$2 sessions workers; shift 2
  sessions=$(children "$agent" '^agent: session for'); workers=$(children "$SERVER_PID" '^converge: session ')
  "$@" >"$T/$name.out" 2>&1 </dev/null &
  CLIENT=$!
  SESSION=$(wait_new_child 15 "$agent" '^agent: session for' $sessions)
  WORKER=$(wait_new_child 15 "$SERVER_PID" '^converge: session ' $workers)
  [ -n "$SESSION" ] && [ -n "$WORKER" ] || { fail "$name: a session process and a worker start"; finish; }
}

# tree PID...: the PIDs and all their descendants.
tree() { local pid; for pid in "$@"; do echo "$pid"; descendants "$pid"; done; }

# metric_is NAME VALUE: the server's /metrics says NAME is VALUE now.
metric_is() { [ "$(metric "$1")" = "$2" ]; }

# no_children PID: PID has no child at all (not even a zombie).
no_children() { [ -z "$(children "$1")" ]; }

# fds_are PID COUNT: PID has exactly COUNT open descriptors now.
fds_are() { [ "$(fd_count "$1")" -eq "$2" ]; }
