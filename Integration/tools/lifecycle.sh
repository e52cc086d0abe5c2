# Timing helpers for the lifecycle scripts (26, 27): source after lib.sh.

now() { date +%s.%N; }
# elapsed SINCE: seconds since SINCE, one decimal.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# within LOW HIGH VALUE: LOW <= VALUE <= HIGH.
within() { awk -v l="$1" -v h="$2" -v v="$3" 'BEGIN { exit !(v >= l && v <= h) }'; }
# agent_ends SECONDS: waits (at most SECONDS) for $AGENT_PID; sets STATUS (124 = still running).
agent_ends() {
  local pid=$AGENT_PID
  ( sleep "$1"; kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && touch "$T/timed-out-$pid" ) &
  local watchdog=$!
  wait "$pid"; STATUS=$?
  kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
  [ -e "$T/timed-out-$pid" ] && STATUS=124
}
# logged_in_count: how many logins the current agent has logged.
logged_in_count() { grep -c 'client logged in' "$AGENT_LOG"; }
