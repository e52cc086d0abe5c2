#!/usr/bin/env bash
# The agent never holds a CI job hostage (part 1; expiry and signals are in 27): it
# exits 0 when nobody logs in within --timeout (failed logins do not count), as soon as
# the first client has logged out and nobody else is in, and when .hold is removed after
# that. Durations are seconds here; exit status and timing are checked.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
make_client_key mallory

source "$TOOLS/lifecycle.sh"

echo "1. nobody connects"
t0=$(now)
start_job_agent --key alice --no-hold w1 --timeout 3s
agent_ends 15; took=$(elapsed "$t0")
expect_eq "exit status 0 after --timeout" 0 "$STATUS"
check "it exits after about 3 s (took ${took}s)" within 2.5 5 "$took"
expect_contains "the log says why" "nobody logged in within 3s" "$(cat "$AGENT_LOG")"
expect_contains "the log says since when it waited" "waiting since " "$(cat "$AGENT_LOG")"

echo "2. a failed login only"
t0=$(now)
start_job_agent --key alice --no-hold w2 --timeout 4s
CLIENT_KEY=$T/mallory job_ssh w2 me@localhost 'echo no' >/dev/null 2>&1
expect_eq "mallory's key is refused" 255 "$?"
agent_ends 15; took=$(elapsed "$t0")
expect_eq "exit status 0" 0 "$STATUS"
check "a failed login does not count: it still exits at --timeout (took ${took}s)" within 3.5 6.5 "$took"
expect_contains "the failed login was logged" "login failed" "$(cat "$AGENT_LOG")"

echo "3. one login, logout"
start_job_agent --key alice --no-hold l1 --timeout 30s
out=$(job_ssh l1 me@localhost 'echo exact')
t0=$(now)
expect_eq "a command's stdout stays byte-exact (no notice in it)" "exact" "$out"
agent_ends 10; took=$(elapsed "$t0")
expect_eq "exit status 0 after the logout" 0 "$STATUS"
check "it exits within 2 s of the logout (took ${took}s)" within 0 2 "$took"
log=$(cat "$AGENT_LOG")
expect_contains "the log names who logged in" 'client logged in: user "me" method publickey key SHA256:' "$log"
expect_contains "the log says the client left" 'client left: user "me"' "$log"
expect_contains "the log says why it exits" "the first client logged out and nobody else is logged in" "$log"

echo "4. two clients, the first logs out"
start_job_agent --key alice --no-hold l2 --timeout 30s
job_ssh l2 me@localhost 'sleep 2; echo one' >"$T/one" 2>&1 &
one=$!
wait_until 10 grep -q 'the first login' "$AGENT_LOG"
job_ssh l2 me@localhost 'sleep 6; echo two' >"$T/two" 2>&1 &
two=$!
wait_until 10 bash -c "[ \$(grep -c 'client logged in' '$AGENT_LOG') -ge 2 ]"
wait $one
sleep 1.5
check "the first client left, the second is in: still running" kill -0 "$AGENT_PID"
wait $two
t0=$(now)
expect_eq "the second client's command completed" "two" "$(cat "$T/two")"
agent_ends 10; took=$(elapsed "$t0")
expect_eq "exit status 0 once the second logs out" 0 "$STATUS"
check "it exits within 2 s of the last logout (took ${took}s)" within 0 2 "$took"

echo "5. .hold keeps it; rm .hold ends it"
start_job_agent --key alice --no-hold h1 --timeout 30s
job_ssh h1 me@localhost 'touch .hold'
sleep 2.5
check ".hold touched from the session, logged out: still running" kill -0 "$AGENT_PID"
expect_contains "the log says .hold was seen" ".hold seen" "$(cat "$AGENT_LOG")"
rm "$T/job-h1/.hold"
t0=$(now)
agent_ends 10; took=$(elapsed "$t0")
expect_eq "exit status 0 after rm .hold" 0 "$STATUS"
check "it exits within 2 s of rm .hold (took ${took}s)" within 0 2 "$took"
expect_contains "the log says .hold was removed" ".hold removed" "$(cat "$AGENT_LOG")"
expect_contains "the log says why it exits" ".hold is gone and nobody is logged in" "$(cat "$AGENT_LOG")"

echo "6. a server never reached is a failure, not a quiet timeout"
authorize alice u1
dead=$(free_port)
t0=$(now)
(cd "$T/job-u1" && timeout 20 "$DIST/agent" --id u1 --timeout 2s "ws://127.0.0.1:$dead") >"$T/u1.log" 2>&1
STATUS=$?; took=$(elapsed "$t0")
expect_eq "exit status 1 when the server was never reachable within --timeout" 1 "$STATUS"
check "it gives up at --timeout (took ${took}s)" within 1.5 4.5 "$took"
expect_contains "it says why" "could not be reached within --timeout 2s" "$(cat "$T/u1.log")"
finish
