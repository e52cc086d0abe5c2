#!/usr/bin/env bash
# SIGTERM: the server stops accepting, lets a running session finish, and exits 0.
source "$(dirname "$0")/lib.sh"
start_server --drain-timeout 20s || exit 1
start_sshd || { fail "sshd starts"; finish; }
start_standin_agent job-t || { fail "the stand-in registers"; finish; }
USER_NAME=$(id -un)
ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/job-t" "$USER_NAME@localhost" 'sleep 3; echo finished' >"$T/session.out" 2>&1 &
session=$!
wait_until 10 pgrep -f '^converge: session job-t' || fail "the session started"
kill -TERM "$SERVER_PID"
sleep 0.5
if curl -s -o /dev/null "http://$SERVER/docs"; then fail "no new connections after SIGTERM"; else pass "no new connections after SIGTERM"; fi
wait $session
expect_eq "the running session finished normally" "finished" "$(tail -1 "$T/session.out")"
wait_until 10 bash -c "! kill -0 $SERVER_PID" && pass "the server exits once the session is over" || fail "the server exits once the session is over"
wait "$SERVER_PID"; rc=$?
expect_eq "exit status 0 after SIGTERM" 0 "$rc"
finish
