#!/usr/bin/env bash
# The agent's expiry and endings from outside (part 2 of 26-agent-lifecycle): touching
# .hold again pushes the expiry and its warning; shells (plain and pty) get the notice at
# login, warnings before expiry and a final message, and are closed at expiry; SIGTERM
# closes the sessions with a message and exits 0 with no shell left; a killed agent
# leaves no session behind. Durations are seconds; exit status and timing are checked.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
make_client_key mallory

source "$TOOLS/lifecycle.sh"

echo "1. touching .hold again pushes the expiry (and the warning)"
start_job_agent --key alice --no-hold h2 --timeout 30s --hold 6s --warn-before 3s
t0=$(now)
job_ssh h2 me@localhost 'touch .hold'
sleep 2
touch "$T/job-h2/.hold"
wait_until 3 grep -q '.hold touched' "$AGENT_LOG"
first=$(grep -o 'hold seen.*expires at [^ ]*' "$AGENT_LOG" | grep -o '[0-9T:-]*Z$')
second=$(grep -o 'hold touched.*expires at [^ ]*' "$AGENT_LOG" | grep -o '[0-9T:-]*Z$')
check "the expiry moved later ($first -> $second)" test "$second" \> "$first"
sleep_until=$(awk -v a="$t0" 'BEGIN { printf "%.2f", a + 4.3 }')
sleep "$(awk -v u="$sleep_until" -v n="$(now)" 'BEGIN { d = u - n; if (d < 0) d = 0; printf "%.2f", d }')"
if grep -q 'warning' "$AGENT_LOG"; then fail "no warning at the old time (old expiry - 3 s)"; else pass "no warning at the old time (old expiry - 3 s)"; fi
wait_until 4 grep -q 'warning' "$AGENT_LOG" && pass "the warning comes at the new time" || fail "the warning comes at the new time"
agent_ends 10; took=$(elapsed "$t0")
expect_eq "exit status 0 at the (pushed) expiry" 0 "$STATUS"
check "it exits at about login + 2 s + 6 s (took ${took}s)" within 7 10.5 "$took"
expect_contains "the log says it expired" "the session expired at" "$(cat "$AGENT_LOG")"

echo "2. shells are warned, then closed at expiry"
start_job_agent --key alice --no-hold e1 --timeout 30s --hold 6s --warn-before 4s,2s
t0=$(now)
timeout 20 ssh "${SSH_OPTS[@]}" -T -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/e1" me@localhost < <(sleep 19) >"$T/plain.out" 2>&1 &
plain=$!
wait_until 10 grep -q 'the first login' "$AGENT_LOG"
timeout 20 ssh "${SSH_OPTS[@]}" -tt -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/e1" me@localhost < <(sleep 19) >"$T/pty.out" 2>&1 &
pty=$!
timeout 20 ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/e1" me@localhost \
  'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i; sleep 1; done' >"$T/exec.out" 2>/dev/null &
cmd=$!
wait $plain; plain_status=$?
wait $cmd
plain_took=$(elapsed "$t0")
wait $pty
agent_ends 10; took=$(elapsed "$t0")
plain_out=$(cat "$T/plain.out"); pty_out=$(tr -d '\r' <"$T/pty.out")
expect_contains "a plain shell gets the notice at login: the ID" "agent e1: logged in as me" "$plain_out"
expect_contains "the notice says when it expires (UTC)" "this session expires at 20" "$plain_out"
expect_contains "the notice says how .hold works" "touch '$T/job-e1/.hold'" "$plain_out"
expect_contains "the notice says how to end it now" "to end the session now for everyone: kill $AGENT_PID" "$plain_out"
expect_contains "a pty shell gets the notice too" "agent e1: logged in as me" "$pty_out"
expect_contains "the plain shell is warned (4 s before), told that activity extends it" "(in 4s). Any activity (typing, sftp, forwarded bytes) extends it to 6s after that; to extend it by 6s and keep it after you log out: touch '$T/job-e1/.hold'" "$plain_out"
expect_contains "the plain shell is warned (2 s before)" "(in 2s)" "$plain_out"
expect_contains "the pty shell is warned" "to extend it by 6s and keep it after you log out: touch " "$pty_out"
expect_contains "the shell gets a final message" "the session expired at" "$plain_out"
expect_contains "the pty shell gets a final message" "the session expired at" "$pty_out"
check "the shell was closed at expiry, not by its stdin (after ${plain_took}s)" within 5 10 "$plain_took"
expect_eq "a command running through expiry gets no notice in its stdout" 0 "$(grep -c converge "$T/exec.out")"
check "the command's stdout is its own lines only" grep -qx line3 "$T/exec.out"
expect_eq "exit status 0 at expiry" 0 "$STATUS"
check "the agent exits at expiry (took ${took}s)" within 5.5 11 "$took"

echo "3. SIGTERM closes the sessions and exits 0"
start_job_agent --key alice --no-hold t1 --timeout 30s
timeout 20 ssh "${SSH_OPTS[@]}" -T -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/t1" me@localhost \
  < <(sleep 1; echo 'sleep 3031'; sleep 18) >"$T/term.out" 2>&1 &
client=$!
wait_until 10 pgrep -f '[s]leep 3031' || fail "the shell runs sleep 3031"
t0=$(now)
kill -TERM "$AGENT_PID"
agent_ends 15; took=$(elapsed "$t0")
expect_eq "exit status 0 after SIGTERM" 0 "$STATUS"
check "it exits within 5 s of SIGTERM (took ${took}s)" within 0 5 "$took"
wait $client
expect_contains "the shell gets a message" "the agent was stopped (SIGTERM)" "$(tr -d '\r' <"$T/term.out")"
sleep 0.5
if pgrep -f '[s]leep 3031' >/dev/null; then fail "no shell left behind"; else pass "no shell left behind"; fi
expect_contains "the log says why it exits" "stopped by SIGTERM" "$(cat "$AGENT_LOG")"

echo "4. a killed agent leaves no session behind"
start_job_agent --key alice --no-hold k1 --timeout 30s
timeout 20 ssh "${SSH_OPTS[@]}" -T -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/k1" me@localhost \
  < <(sleep 1; echo 'sleep 3032'; sleep 18) >/dev/null 2>&1 &
client=$!
wait_until 10 pgrep -f '[s]leep 3032' || fail "the shell runs sleep 3032"
session=$(grep -o 'session process [0-9]*' "$AGENT_LOG" | head -1 | grep -o '[0-9]*$')
kill -KILL "$AGENT_PID"
wait_until 5 bash -c "! kill -0 $session" && pass "the session process ends with the agent" || fail "the session process ends with the agent"
wait_until 5 bash -c "! pgrep -f '[s]leep 3032'" && pass "its shell ends too" || fail "its shell ends too"
wait $client
finish
