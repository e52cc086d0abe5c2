#!/usr/bin/env bash
# authorized_keys options, enforced as sshd enforces them, seen through the real ssh and
# sftp: from= (the client's address as the server announces it, through wsproxy and
# through the ssh -J jump host from two loopback addresses), command= for ssh and sftp,
# internal-sftp, no-pty, restrict,pty, no-port-forwarding, permitopen=, expiry-time=,
# environment= with --permit-user-environment, and a key with an unknown option refused
# with its line named.
source "$(dirname "$0")/lib.sh"
JPORT=$(free_port)
start_server --ssh-listen "127.0.0.1:$JPORT" --ssh-host-key "$T/jump_host_key" || exit 1
wait_until 10 bash -c "echo >/dev/tcp/127.0.0.1/$JPORT" || fail "the jump port listens"
ID=keyopts
mkdir -p "$T/job-$ID"
for name in near notnear forced sftponly nopty restricted noforward permit expired envkey bogus; do make_client_key "$name"; done
pub() { cut -d' ' -f1,2 "$T/$1.pub"; }
cat >"$T/job-$ID/.authorized_keys" <<KEYS
from="127.0.0.1" $(pub near) near
from="!127.0.0.1,127.0.0.0/8" $(pub notnear) notnear
command="echo forced: \$SSH_ORIGINAL_COMMAND" $(pub forced) forced
command="internal-sftp" $(pub sftponly) sftponly
no-pty $(pub nopty) nopty
restrict,pty $(pub restricted) restricted
no-port-forwarding $(pub noforward) noforward
permitopen="127.0.0.1:$SERVER_PORT" $(pub permit) permit
expiry-time="20200101Z" $(pub expired) expired
environment="GREETING=hello from the key" $(pub envkey) envkey
bogus-option $(pub bogus) bogus
KEYS
start_job_agent "$ID" --timeout 120s --permit-user-environment

# as KEY [SSH ARGS...]: ssh through wsproxy (the client is 127.0.0.1) with only KEY.
as() {
  local key=$1; shift
  ssh "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/$key" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$ID" "$@"
}
# via_jump KEY SOURCE [SSH ARGS...]: ssh -J through the jump host, connecting from SOURCE.
via_jump() {
  local key=$1 source=$2; shift 2
  ssh "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/$key" \
    -o ProxyCommand="ssh ${SSH_OPTS[*]} -b $source -p $JPORT -W %h:%p 127.0.0.1" "$@"
}
agent_log() { cat "$AGENT_LOG"; }

echo "start-up"
expect_contains "the unknown option's key is refused with its line named" \
  'line 11: options: unknown option "bogus-option"; the key is not used' "$(agent_log)"
expect_contains "an accepted key's options are in the start-up log" 'with options "restrict,pty"' "$(agent_log)"
check "environment= is not reported as ignored with --permit-user-environment" bash -c "! grep -q 'ignored without' '$AGENT_LOG'"
as bogus me@localhost true 2>/dev/null
expect_eq "the key with an unknown option cannot log in" 255 "$?"

echo "from="
expect_eq "from=127.0.0.1: allowed through wsproxy from 127.0.0.1" "in" "$(as near me@localhost 'echo in')"
expect_eq "from=127.0.0.1: allowed through ssh -J from 127.0.0.1" "in" "$(via_jump near 127.0.0.1 "me@$ID" 'echo in')"
via_jump near 127.0.0.2 "me@$ID" 'echo in' >/dev/null 2>&1
expect_eq "from=127.0.0.1: refused through ssh -J from 127.0.0.2" 255 "$?"
wait_until 5 grep -q 'does not allow client 127.0.0.2' "$AGENT_LOG"
expect_contains "the agent names the option, the line and the client" \
  'key option from="127.0.0.1" (line 1) does not allow client 127.0.0.2:' "$(agent_log)"
as notnear me@localhost true 2>/dev/null
expect_eq "from=\"!127.0.0.1,127.0.0.0/8\": the negation refuses 127.0.0.1" 255 "$?"
expect_eq "from=\"!127.0.0.1,127.0.0.0/8\": 127.0.0.2 is allowed" "in" "$(via_jump notnear 127.0.0.2 "me@$ID" 'echo in')"

echo "command="
expect_eq "a forced command runs instead, with SSH_ORIGINAL_COMMAND" "forced: echo asked" "$(as forced me@localhost 'echo asked')"
expect_eq "a forced command replaces the shell too" "forced:" "$(as forced me@localhost </dev/null | tr -d " ")"
echo "ls" >"$T/ls.batch"
sftp "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/forced" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$ID" \
  -b "$T/ls.batch" me@localhost >/dev/null 2>&1
check "sftp gets the forced command, not an sftp server" test $? -ne 0
expect_contains "the agent logs the replaced subsystem" 'sftp replaced by key option command=' "$(agent_log)"
echo "hello sftp" >"$T/upload.txt"
printf 'put %s up.txt\nls\n' "$T/upload.txt" >"$T/put.batch"
sftp "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/sftponly" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$ID" \
  -b "$T/put.batch" me@localhost >/dev/null 2>&1
expect_eq "command=\"internal-sftp\": sftp works" 0 "$?"
expect_eq "command=\"internal-sftp\": the upload arrived" "hello sftp" "$(cat "$AGENT_DIR/up.txt" 2>/dev/null)"
out=$(as sftponly me@localhost 'echo shell' 2>&1)
expect_eq "command=\"internal-sftp\": a command is refused with sshd's words" "This service allows sftp connections only." "$out"

echo "no-pty, restrict,pty"
# A login from a terminal, as a person types it: ssh asks for a pty (and goes on without
# one when refused, unlike -t, with which the refusal ends the session).
out=$(python3 - ssh "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/nopty" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$ID" me@localhost <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out, sent, start = b"", False, time.time()
while time.time() < start + 15:
    if not sent and time.time() > start + 2:
        os.write(fd, b"tty; exit\n")
        sent = True
    if select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
print(out.decode(errors="replace").replace("\r", ""))
PY
)
expect_contains "no-pty: ssh says the pty was refused" "PTY allocation request failed" "$out"
expect_contains "no-pty: the person is told which option refused it" "its authorized_keys option no-pty" "$out"
expect_contains "no-pty: the shell runs without a terminal" "not a tty" "$out"
expect_contains "no-pty: the agent logs which option refused the pty" "pty refused (key option no-pty)" "$(agent_log)"
expect_contains "restrict,pty: a terminal is allowed again" "/dev/pts/" "$(as restricted -tt me@localhost 'tty' 2>/dev/null)"

echo "forwarding"
http() { printf 'GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n' | timeout 20 ssh "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/$1" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$ID" -W "127.0.0.1:$2" me@localhost 2>/dev/null | head -1; }
expect_contains "a key without options may forward (ssh -W)" "200" "$(http near "$SERVER_PORT")"
expect_eq "restrict: forwarding refused" "" "$(http restricted "$SERVER_PORT")"
expect_eq "no-port-forwarding: forwarding refused" "" "$(http noforward "$SERVER_PORT")"
expect_contains "permitopen: the permitted target is reachable" "200" "$(http permit "$SERVER_PORT")"
expect_eq "permitopen: another port is refused" "" "$(http permit "$JPORT")"
wait_until 5 grep -q 'not in key option permitopen' "$AGENT_LOG"
expect_contains "the agent logs the forward refused by restrict" "refused: key option restrict" "$(agent_log)"
expect_contains "the agent logs the forward refused by no-port-forwarding" "refused: key option no-port-forwarding" "$(agent_log)"
expect_contains "the agent logs the forward refused by permitopen" "127.0.0.1:$JPORT refused: not in key option permitopen=\"127.0.0.1:$SERVER_PORT\"" "$(agent_log)"

echo "expiry-time=, environment="
as expired me@localhost true 2>/dev/null
expect_eq "an expired key is refused" 255 "$?"
wait_until 5 grep -q 'the key has expired' "$AGENT_LOG"
expect_contains "the agent names expiry-time" 'key option expiry-time="20200101Z" (line 9): the key has expired' "$(agent_log)"
expect_eq "environment= reaches the session with --permit-user-environment" "hello from the key" "$(as envkey me@localhost 'echo $GREETING')"
check "the agent is still running" kill -0 "$AGENT_PID"
finish
