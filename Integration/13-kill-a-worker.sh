#!/usr/bin/env bash
# Killing one splice worker ends that session only: a second session goes on working,
# and the server keeps answering.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
start_sshd || { fail "sshd starts"; finish; }
start_standin_agent job-k || { fail "the stand-in registers"; finish; }
USER_NAME=$(id -un)
PROXY="$DIST/wsproxy ws://$SERVER/client/job-k"
ssh_job() { ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$PROXY" "$USER_NAME@localhost" "$@"; }

ssh_job 'for i in $(seq 1 40); do echo tick $i; sleep 0.25; done' >"$T/one.out" 2>&1 &
one=$!
ssh_job 'for i in $(seq 1 40); do echo tock $i; sleep 0.25; done' >"$T/two.out" 2>&1 &
two=$!
wait_until 20 bash -c "[ \$(pgrep -f '^converge: session job-k' | wc -l) -ge 2 ]" || fail "two session workers appear in ps as 'converge: session job-k'"
workers=($(pgrep -f '^converge: session job-k'))
expect_eq "ps shows a worker per session, named by ID" 2 "${#workers[@]}"
sleep 1
victim=${workers[0]}
kill -9 "$victim"
wait $one; rc_one=$?
wait $two; rc_two=$?
# Which ssh used the killed worker is not known: exactly one must have failed.
if [ $rc_one -ne 0 ] && [ $rc_two -eq 0 ]; then survivor=$T/two.out; pass "the killed session ended, the other finished"
elif [ $rc_two -ne 0 ] && [ $rc_one -eq 0 ]; then survivor=$T/one.out; pass "the killed session ended, the other finished"
else fail "exactly one session ends (exit statuses $rc_one and $rc_two)"; survivor=$T/one.out; fi
expect_eq "the surviving session got all its output" 40 "$(grep -cE '^(tick|tock) ' "$survivor")"
check "the server still answers" curl -fsS -o /dev/null "http://$SERVER/docs"
out=$(ssh_job 'echo after') 
expect_eq "a new session works after the kill" "after" "$(echo "$out" | tail -1)"
check "the server logs the killed session's end" grep -q "worker ended without a report" "$SERVER_LOG"
finish
