#!/usr/bin/env bash
# ssh -L through the agent reaches a service inside the CI job; a forward to a port nobody
# listens on closes the client's connection, ssh says the forward failed, the agent logs
# it, and the other forward and the agent go on.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
mkdir -p "$T/job-f1/www"
echo "hello from inside the job" >"$T/job-f1/www/index.html"
HTTP_PORT=$(free_port)
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$T/job-f1/www" >/dev/null 2>&1 &
started $!
start_job_agent --key carol f1 --timeout 120s
LPORT=$(free_port)
job_ssh f1 -N -L "127.0.0.1:$LPORT:127.0.0.1:$HTTP_PORT" me@localhost &
started $!
wait_until 15 curl -fsS -o /dev/null "http://127.0.0.1:$LPORT/" || fail "the forwarded port answers"
out=$(curl -fsS "http://127.0.0.1:$LPORT/index.html")
expect_eq "ssh -L reaches an HTTP server in the job" "hello from inside the job" "$out"
ok=0
for i in 1 2 3 4 5; do
  [ "$(curl -fsS "http://127.0.0.1:$LPORT/index.html")" == "hello from inside the job" ] && ok=$((ok + 1))
done
expect_eq "five requests through the same forward" 5 "$ok"

echo "a forward to a closed port"
CLOSED=$(free_port)
CPORT=$(free_port)
# At LogLevel INFO, as a user's ssh runs, it says when a channel fails to open.
ssh "${SSH_OPTS[@]/LogLevel=ERROR/LogLevel=INFO}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/f1" \
  -N -L "127.0.0.1:$CPORT:127.0.0.1:$CLOSED" -o ExitOnForwardFailure=no me@localhost 2>"$T/closed.err" &
CLOSED_SSH=$!
started $CLOSED_SSH
# Connects to the local end once ssh listens there; says what became of the connection.
out=$(python3 - "$CPORT" <<'PY'
import socket, sys, time
deadline = time.time() + 15
while True:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        break
    except OSError:
        if time.time() > deadline:
            print("ssh never listened")
            sys.exit()
        time.sleep(0.1)
try:
    print("closed" if s.recv(100) == b"" else "got data")
except ConnectionResetError:
    print("closed")
except socket.timeout:
    print("still open after 10 s")
PY
)
expect_eq "a connection through it is closed" closed "$out"
wait_until 5 grep -q 'open failed' "$T/closed.err"
expect_contains "ssh reports the failed forward" "open failed" "$(cat "$T/closed.err")"
wait_until 5 grep -qE "forward to 127.0.0.1:$CLOSED (refused|failed)" "$AGENT_LOG"
check "the agent logs the failed forward with its target" grep -qE "forward to 127.0.0.1:$CLOSED (refused|failed): " "$AGENT_LOG"
check "the ssh holding that forward stays up" kill -0 "$CLOSED_SSH"
expect_eq "the first forward still works" "hello from inside the job" "$(curl -fsS "http://127.0.0.1:$LPORT/index.html")"
check "the agent is still running" kill -0 "$AGENT_PID"
finish
