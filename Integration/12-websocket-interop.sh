#!/usr/bin/env bash
# Converge's client leg is plain RFC 6455: an independent client (Python's websockets)
# is relayed exactly; an independent agent-side implementation (the stand-in) pairs.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
ECHO_PORT=$(free_port)
socat TCP-LISTEN:$ECHO_PORT,bind=127.0.0.1,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
started $!
wait_until 10 bash -c "echo > /dev/tcp/127.0.0.1/$ECHO_PORT"
SSHD_PORT=$ECHO_PORT start_standin_agent echo-1 || { fail "stand-in registers"; finish; }

out=$(timeout 60 python3 "$TOOLS/ws_client_check.py" "ws://$SERVER" echo-1 2>&1)
rc=$?
expect_eq "a Python websockets client is relayed exactly (sizes 1..1 MiB, ping, close)" "0" "$rc"
[ -n "$out" ] && echo "$out"

echo "rogue frames from a client end only that connection"
python3 - "$SERVER" echo-1 >"$T/rogue.out" 2>&1 <<'PY'
import base64, os, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(f"GET /client/{sys.argv[2]} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
print(head.split(b"\r\n")[0].decode())
s.sendall(b"\x82\x05hello")  # unmasked frame from a client: a protocol error
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    print("timeout")
print("close-frame" if b"\x88" in data[:2] or data.find(b"\x88") >= 0 else "no-close", "eof")
PY
expect_contains "the rogue client was upgraded" "101" "$(cat "$T/rogue.out")"
expect_contains "an unmasked client frame gets a close frame and EOF" "close-frame eof" "$(cat "$T/rogue.out")"
sleep 0.5
wait_until 10 grep -q offered "$T/standin-echo-1.log"
out=$(timeout 60 python3 "$TOOLS/ws_client_check.py" "ws://$SERVER" echo-1 2>&1)
expect_eq "the next client is served as before" "0" "$?"
finish
