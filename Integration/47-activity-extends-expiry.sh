#!/usr/bin/env bash
# Expiry follows activity: what a person sends (keystrokes, sftp requests, forwarded
# bytes) moves the expiry to --hold after it, so a typed session outlives its --hold,
# while a session that only receives output (a forgotten `tail -f`) still expires --hold
# after the login. Warnings say that activity extends it. Durations are seconds.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/lifecycle.sh"
start_server || exit 1

echo "a typed session outlives --hold 4s"
start_job_agent --key alice --no-hold typed --timeout 30s --hold 4s --warn-before 2s
TYPED_PID=$AGENT_PID TYPED_LOG=$AGENT_LOG
t0=$(now)
# A shell read from a pipe: a no-op command each second for 8 s, then nothing.
( for i in 1 2 3 4 5 6 7 8; do echo ": typed $i"; sleep 1; done; sleep 30 ) |
  timeout 40 ssh "${SSH_OPTS[@]}" -T -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/typed" me@localhost >"$T/typed.out" 2>&1 &

echo "an idle session (output only) expires at --hold 4s"
start_job_agent --key alice --no-hold idle --timeout 30s --hold 4s --warn-before 2s
t1=$(now)
timeout 40 ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/idle" me@localhost \
  'while :; do echo tick; sleep 0.5; done' </dev/null >"$T/idle.out" 2>&1 &
agent_ends 15; took=$(elapsed "$t1")
expect_eq "the idle session's agent exits 0 at expiry" 0 "$STATUS"
check "output it only received did not extend it: about 4 s after login (took ${took}s)" within 3 7 "$took"
expect_contains "its log says it expired" "the session expired at" "$(cat "$AGENT_LOG")"

sleep "$(awk -v a="$t0" -v n="$(now)" 'BEGIN { d = a + 7 - n; if (d < 0) d = 0; printf "%.2f", d }')"
check "7 s after login, past its --hold, the typed session's agent still runs" kill -0 "$TYPED_PID"
AGENT_PID=$TYPED_PID AGENT_LOG=$TYPED_LOG
agent_ends 20; took=$(elapsed "$t0")
expect_eq "the typed session's agent exits 0 at expiry" 0 "$STATUS"
check "it expires about 4 s after the last keystroke (8 s): took ${took}s" within 10.5 15 "$took"
expect_contains "the warning says activity extends it" "Any activity (typing, sftp, forwarded bytes) extends it" "$(tr -d '\r' <"$T/typed.out")"
expect_contains "the login notice says typing moves the expiry" "anything you type" "$(tr -d '\r' <"$T/typed.out")"
expect_contains "the start-up log states the rule" "the latest activity (what a person types" "$(cat "$TYPED_LOG")"
finish
