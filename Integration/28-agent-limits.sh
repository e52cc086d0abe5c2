#!/usr/bin/env bash
# The agent's named limits, as a user's ssh meets them: max_auth_tries (failed logins per
# connection), the growing delay for wrong passwords from one address across connections,
# max_unauthenticated (clients connected but not logged in) and login_grace_time. Each
# refusal: what ssh prints (the agent's SSH disconnect message) and the agent's log line
# naming the limit.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
for k in x1 x2 x3; do make_client_key "$k"; done
CONVERGE_PASSWORD="agent secret $RANDOM" start_job_agent --key gina l1 --timeout 120s --max-auth-tries 2
WSPROXY="$DIST/wsproxy ws://$SERVER/client/l1"
PW_OPTS=("${SSH_OPTS[@]/BatchMode=yes/BatchMode=no}" -o PubkeyAuthentication=no -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1)

echo "max_auth_tries"
out=$(ssh "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/x1" -i "$T/x2" -i "$T/x3" -o PreferredAuthentications=publickey \
  -o ProxyCommand="$WSPROXY" me@localhost true 2>&1)
expect_eq "three unknown keys against --max-auth-tries 2: ssh fails" 255 "$?"
expect_contains "ssh prints the agent's reason" "Received disconnect" "$out"
expect_contains "and names the limit" "too many authentication failures: 2 (limit: max_auth_tries)" "$out"
wait_until 5 grep -q "limit: max_auth_tries" "$AGENT_LOG"
check "the agent logs the limit" grep -q "disconnecting: too many authentication failures: 2 (limit: max_auth_tries)" "$AGENT_LOG"
check "the third key was never tried" bash -c "[ \$(grep -c 'login failed: .*method publickey' '$AGENT_LOG') -eq 2 ]"

echo "wrong passwords from one address are answered more slowly, across connections"
for attempt in 1 2; do
  out=$(sshpass -p "wrong $attempt" ssh "${PW_OPTS[@]}" -o ProxyCommand="$WSPROXY" me@localhost true 2>&1)
  expect_eq "wrong password $attempt is refused" "255" "$?"
  expect_contains "ssh says so" "Permission denied" "$out"
done
failures=$(grep "login failed: .*method password" "$AGENT_LOG")
expect_contains "the first wrong password is answered after 1s" "(failure 1 of 2; answered after 1s)" "$(echo "$failures" | sed -n 1p)"
expect_contains "the next connection's first one after 2s: the address's earlier guess counts" \
  "(failure 1 of 2; answered after 2s, 1 earlier failed guess(es) from this address)" "$(echo "$failures" | sed -n 2p)"

echo "max_unauthenticated and login_grace_time"
CONVERGE_PASSWORD="agent secret $RANDOM" start_job_agent --key gina l2 --timeout 120s --max-unauthenticated 1 --login-grace-time 10s
WSPROXY="$DIST/wsproxy ws://$SERVER/client/l2"
# A client left at the password prompt: ssh waits for askpass (13 s), longer than the
# agent's --login-grace-time (10 s). ssh reads nothing while it waits for a password, so
# it sees the agent's disconnect only when it sends the password. Plain wsproxy has
# exited by then (the connection is closed), so that write fails and ssh ends without
# the message; the `exec sleep` keeps the pipe open, so ssh reads what the agent said.
printf '#!/bin/sh\nsleep 13\necho not-the-password\n' >"$T/slow-askpass"
chmod 755 "$T/slow-askpass"
SSH_ASKPASS=$T/slow-askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none setsid ssh "${PW_OPTS[@]}" \
  -o ProxyCommand="sh -c '$WSPROXY; exec sleep 5'" me@localhost true </dev/null >"$T/idle.out" 2>&1 &
IDLE=$!
started $IDLE
wait_until 10 grep -q 'not logged in yet' "$AGENT_LOG"
check "the idle client is connected but not logged in" grep -q 'not logged in yet' "$AGENT_LOG"
out=$(job_ssh l2 me@localhost 'echo in' 2>&1)
expect_eq "the next client is refused while one is not logged in (--max-unauthenticated 1)" 255 "$?"
expect_contains "ssh prints that the agent is busy and the limit" \
  "the agent is busy with other logins, try again in a moment (limit: max_unauthenticated 1)" "$out"
check "the agent logs the refusal with the limit's name" grep -q "refused: 1 connected clients have not logged in yet (limit: max_unauthenticated 1)" "$AGENT_LOG"
wait_until 20 grep -q "limit: login_grace_time" "$AGENT_LOG"
check "the idle client is disconnected after 10s, logged with the limit's name" \
  grep -q "disconnecting: no login within 10s (limit: login_grace_time)" "$AGENT_LOG"
wait_until 10 bash -c "! kill -0 $IDLE"
expect_contains "its ssh prints the reason once it sends a password" "no login within 10s (limit: login_grace_time)" "$(cat "$T/idle.out")"
# Both session processes (the idle one and the refusing one) are gone: a slot is free.
wait_until 10 bash -c "[ \$(grep -c 'session process [0-9]* ended' '$AGENT_LOG') -eq 2 ]"
expect_eq "with the idle client gone, a login works again" "in" "$(job_ssh l2 me@localhost 'echo in')"

echo "usage"
for bad in "--max-auth-tries 0" "--max-unauthenticated 0" "--login-grace-time 0s" "--max-frame-bytes 1000"; do
  "$DIST/agent" $bad ws://127.0.0.1:1 >"$T/bad.out" 2>&1
  expect_eq "agent $bad is a usage error" 2 "$?"
  expect_contains "its first line names the flag" "${bad% *}" "$(head -1 "$T/bad.out")"
done
help=$("$DIST/agent" --help 2>&1)
for flag in --max-unauthenticated --login-grace-time --max-auth-tries --max-frame-bytes; do
  expect_contains "agent --help lists $flag" "$flag" "$help"
done
finish
