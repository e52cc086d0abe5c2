#!/usr/bin/env bash
# Logins: keys, the server's user and password, the agent's own password; wrong ones
# refused with the reason in the agent's log; no way to log in means no start.
source "$(dirname "$0")/lib.sh"
SERVER_SECRET="correct horse battery staple $RANDOM"
CONVERGE_PASSWORD=$SERVER_SECRET start_server --user team || exit 1
make_client_key mallory
authorize dave u1
echo "this line is not a key" >>"$T/job-u1/.authorized_keys"
AGENT_SECRET="agent secret $RANDOM"
CONVERGE_PASSWORD=$AGENT_SECRET start_job_agent --key dave u1 --timeout 120s
expect_contains "a bad authorized_keys line is reported with its line number" ".authorized_keys: line 2" "$(cat "$AGENT_LOG")"
expect_contains "the agent names the server's user" "user team" "$(cat "$AGENT_LOG")"
ps -eo args >"$T/ps.txt"
check "the server's password is not on any command line" bash -c "! grep -qF '$SERVER_SECRET' '$T/ps.txt'"
out=$(job_ssh u1 me@localhost 'echo $CONVERGE_PASSWORD')
expect_eq "shells do not inherit the agent's password" "" "$out"

pw_ssh() {  # pw_ssh USER PASSWORD
  sshpass -p "$2" ssh "${SSH_OPTS[@]/BatchMode=yes/BatchMode=no}" -o PubkeyAuthentication=no -o PreferredAuthentications=password \
    -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/u1" "$1@localhost" 'echo in'
}
expect_eq "key login works" "in" "$(job_ssh u1 me@localhost 'echo in')"
expect_eq "the server's user logs in with the server's password" "in" "$(pw_ssh team "$SERVER_SECRET")"
expect_eq "any user logs in with the agent's own password" "in" "$(pw_ssh someone "$AGENT_SECRET")"
pw_ssh team "wrong password" >/dev/null 2>&1
expect_eq "a wrong password for the server's user is refused" 5 "$?"
pw_ssh someone "$SERVER_SECRET" >/dev/null 2>&1
expect_eq "the server's password does not work for another user" 5 "$?"
ssh "${SSH_OPTS[@]}" -i "$T/mallory" -o PreferredAuthentications=publickey -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/u1" me@localhost true 2>/dev/null
expect_eq "an unknown key is refused" 255 "$?"
sleep 0.5
expect_contains "the refused key is logged with its fingerprint and why" "$(ssh-keygen -lf "$T/mallory.pub" | cut -d' ' -f2)" "$(grep -i 'not in' "$AGENT_LOG")"
expect_contains "the wrong password is logged" "team" "$(grep -i 'fail' "$AGENT_LOG")"

echo "no way to log in"
kill "$AGENT_PID"
start_server
mkdir -p "$T/job-none"
(cd "$T/job-none" && env -u CONVERGE_PASSWORD timeout 20 "$DIST/agent" --id none "ws://$SERVER") >"$T/none.log" 2>&1
expect_eq "an agent with no way to log in exits 2" 2 "$?"
expect_contains "it explains the server's user" "--user NAME" "$(cat "$T/none.log")"
expect_contains "it explains authorized keys" ".authorized_keys" "$(cat "$T/none.log")"
expect_contains "it explains the agent's password" "CONVERGE_PASSWORD" "$(cat "$T/none.log")"

echo "usage"
"$DIST/agent" >"$T/noargs.out" 2>&1
expect_eq "agent without arguments exits 2" 2 "$?"
expect_contains "agent without arguments prints its options" "--authorized-keys" "$(cat "$T/noargs.out")"
"$DIST/agent" --bogus ws://x >"$T/bogus.out" 2>&1
expect_eq "an unknown flag exits 2" 2 "$?"
expect_contains "the first line names the flag" "--bogus" "$(head -1 "$T/bogus.out")"
"$DIST/agent" --authorized-keys /nonexistent ws://127.0.0.1:1 >"$T/nokeys.out" 2>&1
expect_eq "a missing --authorized-keys file exits 2" 2 "$?"
finish
