#!/usr/bin/env bash
# A person left at a password prompt past login_grace_time sees why the agent closed
# the connection, at once, through wsproxy and through the jump host: ssh itself reads
# the agent's disconnect only after the password is typed.
source "$(dirname "$0")/lib.sh"
JPORT=$(free_port)
start_server --ssh-listen "127.0.0.1:$JPORT" --ssh-host-key "$T/jump_host_key" || exit 1
wait_until 10 bash -c "echo >/dev/tcp/127.0.0.1/$JPORT" || fail "the jump port listens"
CONVERGE_PASSWORD="late password $RANDOM" start_job_agent late --timeout 60s --login-grace-time 3s

# at_prompt SECONDS SSH ARGS...: runs ssh on a terminal of its own, types nothing, and
# prints what the terminal showed until the agent's reason appears (or SECONDS pass).
REASON="the agent closed the connection: no login within 3s (limit: login_grace_time)"
at_prompt() {
  local seconds=$1; shift
  python3 - "$seconds" "$REASON" "$@" <<'PY'
import os, pty, select, sys, time
seconds, needle, argv = float(sys.argv[1]), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out, end = b"", time.time() + seconds
while time.time() < end:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
        if needle in out:
            break
os.kill(pid, 9)
print(out.decode(errors="replace").replace("\r", ""))
PY
}
PW_OPTS=("${SSH_OPTS[@]/BatchMode=yes/BatchMode=no}" -o PubkeyAuthentication=no -o PreferredAuthentications=password)

out=$(at_prompt 20 ssh "${PW_OPTS[@]}" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/late" me@localhost)
expect_contains "through wsproxy: the person saw the password prompt" "password:" "$out"
expect_contains "through wsproxy: and, still at it, why the agent closed the connection" "$REASON" "$out"

out=$(at_prompt 20 ssh "${PW_OPTS[@]}" -o ProxyCommand="ssh ${SSH_OPTS[*]/LogLevel=ERROR/LogLevel=INFO} -p $JPORT -W %h:%p 127.0.0.1" me@late)
expect_contains "through the jump host: the person saw the password prompt" "password:" "$out"
expect_contains "through the jump host: and why the agent closed the connection" "$REASON" "$out"
expect_contains "the agent's log names the limit" "no login within 3s (limit: login_grace_time)" "$(cat "$AGENT_LOG")"
check "the agent is still running" kill -0 "$AGENT_PID"
finish
