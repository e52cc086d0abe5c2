#!/usr/bin/env bash
# wsproxy and tcptows against an independent RFC 6455 server (Python `websockets`):
# bytes exact both ways, one clear line for each failure, TLS with our own CA, an HTTP
# CONNECT proxy, and tcptows serving two connections at once.
#
# Uses the binaries in $DIST (default: dist/). Self-contained: no server of ours needed.
source "$(dirname "$0")/lib.sh"
WSPROXY=$DIST/wsproxy
TCPTOWS=$DIST/tcptows

# through_echo FILE COMMAND...: FILE through an echo, reading back exactly as many bytes.
# stdin stays open meanwhile (a feeder that sleeps after the file, then is killed):
# closing it first would ask the server to close before it has answered, and a WebSocket
# has no half-close.
through_echo() {
  local file=$1; shift
  exec 3< <(cat "$file"; exec sleep 30)
  local feeder=$!
  timeout 20 "$@" <&3 | head -c "$(stat -c %s "$file")"
  exec 3<&-
  kill "$feeder" 2>/dev/null
}

# echo_through TEXT COMMAND...: one line through an echo.
echo_through() {
  local text=$1; shift
  printf '%s\n' "$text" > "$T/line.txt"
  through_echo "$T/line.txt" "$@"
}

for tool in "$WSPROXY" "$TCPTOWS"; do
  [ -x "$tool" ] || { fail "$tool is built (make dist, or DIST=path/to/bin)"; finish; }
done
python3 -c 'import websockets' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check websockets >/dev/null 2>&1
python3 -c 'import websockets' 2>/dev/null || { fail "the Python websockets package is installed (make test-deps)"; finish; }

# --- The independent server -------------------------------------------------------------
# /echo echoes; /sink/NAME hashes what it gets into $T/NAME.sha; /source/N sends N
# pseudo-random bytes then closes; /client/missing is a bare 404, /client/gone a 404 with a
# one-line text body.
cat > "$T/server.py" <<'EOF'
import asyncio, hashlib, random, ssl, sys
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

port, outdir = int(sys.argv[1]), sys.argv[2]
cert = sys.argv[3] if len(sys.argv) > 4 else None
key = sys.argv[4] if len(sys.argv) > 4 else None

async def handler(ws):
    path = ws.request.path
    if path.startswith("/sink/"):
        digest, count = hashlib.sha256(), 0
        async for message in ws:
            digest.update(message); count += len(message)
        with open(f"{outdir}/{path[6:]}.sha", "w") as f:
            f.write(f"{digest.hexdigest()} {count}\n")
    elif path.startswith("/source/"):
        data = random.Random(7).randbytes(int(path[8:]))
        for i in range(0, len(data), 65536):
            await ws.send(data[i:i + 65536])
        await ws.close()
    else:
        async for message in ws:
            await ws.send(message)

def process_request(connection, request):
    if request.path == "/client/missing":
        return Response(404, "Not Found", Headers([("Content-Length", "0")]), b"")
    if request.path == "/client/gone":
        body = b'no agent is connected under ID "gone"\n'
        return Response(404, "Not Found", Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]), body)
    return None

async def main():
    context = None
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
    async with serve(handler, "127.0.0.1", port, ssl=context, process_request=process_request,
                     max_size=None, ping_interval=None):
        print("ready", flush=True)
        await asyncio.Future()

asyncio.run(main())
EOF

# A tiny HTTP CONNECT proxy that logs each target.
cat > "$T/proxy.py" <<'EOF'
import asyncio, sys

port, log = int(sys.argv[1]), sys.argv[2]

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data); await writer.drain()
    finally:
        writer.close()

async def handle(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    method, target, _ = head.split(b"\r\n")[0].decode().split(" ")
    with open(log, "a") as f:
        f.write(f"{method} {target}\n")
    if method != "CONNECT":
        writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"); writer.close(); return
    host, port_text = target.rsplit(":", 1)
    up_reader, up_writer = await asyncio.open_connection(host, int(port_text))
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n"); await writer.drain()
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
EOF

WS_PORT=$(free_port)
python3 "$T/server.py" "$WS_PORT" "$T" > "$T/server.log" 2>&1 &
started $!
wait_until 10 grep -q ready "$T/server.log" || { fail "the websockets server starts"; cat "$T/server.log"; finish; }
WS=ws://127.0.0.1:$WS_PORT

echo "== wsproxy against Python websockets"
head -c 5000000 /dev/urandom > "$T/in.bin"
IN_SHA=$(sha "$T/in.bin")

# Upload: the server hashes what arrives.
timeout 30 "$WSPROXY" "$WS/sink/up" < "$T/in.bin" > /dev/null 2> "$T/up.err"
expect_eq "upload exits 0" 0 $?
wait_until 10 grep -q " " "$T/up.sha"
expect_eq "5 MB upload arrives byte-exact" "$IN_SHA 5000000" "$(cat "$T/up.sha" 2>/dev/null)"

# Download: the server sends and closes; wsproxy's stdin stays open meanwhile.
exec 3< <(exec sleep 30); FEEDER=$!
timeout 30 "$WSPROXY" "$WS/source/5000000" <&3 > "$T/down.bin" 2> "$T/down.err"
expect_eq "download exits 0 when the server closes" 0 $?
exec 3<&-; kill "$FEEDER" 2>/dev/null
EXPECTED_DOWN=$(python3 -c 'import hashlib, random; print(hashlib.sha256(random.Random(7).randbytes(5000000)).hexdigest())')
expect_eq "5 MB download arrives byte-exact" "$EXPECTED_DOWN" "$(sha "$T/down.bin")"

# Both ways at once through the echo: head stops reading after 5 MB.
through_echo "$T/in.bin" "$WSPROXY" "$WS/echo" 2> "$T/echo.err" > "$T/echo.bin"
expect_eq "5 MB echo round trip byte-exact" "$IN_SHA" "$(sha "$T/echo.bin")"
expect_eq "nothing on stderr when all goes well" "" "$(cat "$T/up.err" "$T/down.err" "$T/echo.err")"

echo "== wsproxy errors: one line, non-zero exit"
one_line_error() {  # DESCRIPTION EXPECTED-EXIT EXPECTED-LINE COMMAND...
  local what=$1 want_rc=$2 want=$3; shift 3
  local out rc
  out=$(timeout 20 "$@" < /dev/null 2>&1 >/dev/null); rc=$?
  expect_eq "$what: exit status" "$want_rc" "$rc"
  expect_eq "$what: message" "$want" "$out"
}
one_line_error "404 without a body" 1 'wsproxy: no agent is connected under ID "missing" (404 from server)' "$WSPROXY" "$WS/client/missing"
one_line_error "404 with the server's line" 1 'wsproxy: no agent is connected under ID "gone" (404 from server)' "$WSPROXY" "$WS/client/gone"
DEAD_PORT=$(free_port)
one_line_error "connection refused" 1 "wsproxy: cannot connect to 127.0.0.1:$DEAD_PORT: Connection refused" "$WSPROXY" "ws://127.0.0.1:$DEAD_PORT/client/x"
one_line_error "malformed URL" 1 "wsproxy: malformed URL 'localhost:8000/client/x': expected ws:// or wss://HOST[:PORT]" "$WSPROXY" "localhost:8000/client/x"
one_line_error "unknown host" 1 'wsproxy: cannot resolve host "no-such-host.invalid": Name or service not known' "$WSPROXY" "ws://no-such-host.invalid/client/x"
out=$(timeout 10 "$WSPROXY" --bogus "$WS/echo" 2>&1 < /dev/null); rc=$?
expect_eq "unknown flag: exit 2" 2 "$rc"
expect_contains "unknown flag: the first line names it" "--bogus" "$(head -1 <<< "$out")"
out=$(timeout 10 "$WSPROXY" --help 2>&1); rc=$?
expect_eq "--help exits 0" 0 "$rc"
expect_contains "--help shows the usage" "USAGE: wsproxy [--cacert <file>] [--insecure] <url>" "$out"

echo "== TLS with a throwaway CA"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Converge Test CA" \
  -keyout "$T/ca.key" -out "$T/ca.pem" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$T/server.key" -out "$T/server.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$T/ext.cnf"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
  -extfile "$T/ext.cnf" -out "$T/server.pem" >/dev/null 2>&1
TLS_PORT=$(free_port)
python3 "$T/server.py" "$TLS_PORT" "$T" "$T/server.pem" "$T/server.key" > "$T/tls.log" 2>&1 &
started $!
wait_until 10 grep -q ready "$T/tls.log" || { fail "the websockets server with TLS starts"; cat "$T/tls.log"; finish; }
WSS=wss://localhost:$TLS_PORT

head -c 300000 /dev/urandom > "$T/small.bin"
through_echo "$T/small.bin" "$WSPROXY" --cacert "$T/ca.pem" "$WSS/echo" 2> "$T/tls.err" > "$T/small.out"
expect_eq "--cacert: echo through TLS byte-exact" "$(sha "$T/small.bin")" "$(sha "$T/small.out")"
expect_eq "--cacert: no warning" "" "$(cat "$T/tls.err")"
one_line_error "no CA: certificate error" 1 "wsproxy: TLS: certificate verify failed (unable to get local issuer certificate) for localhost" "$WSPROXY" "$WSS/echo"
one_line_error "wrong name: certificate error" 1 "wsproxy: TLS: certificate verify failed (IP address mismatch) for 127.0.0.1" "$WSPROXY" --cacert "$T/ca.pem" "wss://127.0.0.1:$TLS_PORT/echo"
one_line_error "unreadable CA file" 1 "wsproxy: cannot read CA file $T/nope.pem: No such file or directory" "$WSPROXY" --cacert "$T/nope.pem" "$WSS/echo"
one_line_error "TLS to a plain server" 1 "wsproxy: TLS: 127.0.0.1 closed the connection during the handshake (is it speaking TLS?)" "$WSPROXY" "wss://127.0.0.1:$WS_PORT/echo"
out=$(echo_through hello "$WSPROXY" --insecure "$WSS/echo" 2> "$T/insecure.err")
expect_eq "--insecure works" "hello" "$out"
expect_eq "--insecure warns in one line" 1 "$(wc -l < "$T/insecure.err")"
expect_contains "--insecure warning text" "wsproxy: warning: --insecure" "$(cat "$T/insecure.err")"

echo "== through an HTTP CONNECT proxy"
PROXY_PORT=$(free_port)
python3 "$T/proxy.py" "$PROXY_PORT" "$T/proxy-targets.log" > "$T/proxy.log" 2>&1 &
started $!
wait_until 10 grep -q ready "$T/proxy.log" || { fail "the CONNECT proxy starts"; cat "$T/proxy.log"; finish; }
out=$(echo_through "via proxy" env https_proxy=http://127.0.0.1:$PROXY_PORT "$WSPROXY" --cacert "$T/ca.pem" "$WSS/echo" 2>&1)
expect_eq "https_proxy: wss:// through CONNECT" "via proxy" "$out"
expect_eq "the proxy saw the CONNECT" "CONNECT localhost:$TLS_PORT" "$(tail -1 "$T/proxy-targets.log" 2>/dev/null)"
out=$(echo_through "plain via proxy" env HTTP_PROXY=127.0.0.1:$PROXY_PORT "$WSPROXY" "$WS/echo" 2>&1)
expect_eq "HTTP_PROXY: ws:// through CONNECT" "plain via proxy" "$out"
BEFORE=$(wc -l < "$T/proxy-targets.log")
out=$(echo_through direct env https_proxy=http://127.0.0.1:$PROXY_PORT no_proxy=example.org,localhost "$WSPROXY" --cacert "$T/ca.pem" "$WSS/echo" 2>&1)
expect_eq "no_proxy: direct connection" "direct 0" "$out $(( $(wc -l < "$T/proxy-targets.log") - BEFORE ))"
one_line_error "dead proxy" 1 "wsproxy: proxy: cannot connect to 127.0.0.1:$DEAD_PORT: Connection refused" \
  env https_proxy=http://127.0.0.1:$DEAD_PORT "$WSPROXY" --cacert "$T/ca.pem" "$WSS/echo"

echo "== tcptows: one WebSocket per TCP connection"
LISTEN_PORT=$(free_port)
"$TCPTOWS" --listen "127.0.0.1:$LISTEN_PORT" "$WS/echo" > "$T/tcptows.out" 2> "$T/tcptows.err" &
TCPTOWS_PID=$!
started $TCPTOWS_PID
wait_until 10 grep -q listening "$T/tcptows.out" || { fail "tcptows listens"; finish; }
expect_eq "tcptows says where it listens" "tcptows: listening on 127.0.0.1:$LISTEN_PORT for $WS/echo" "$(cat "$T/tcptows.out")"
cat > "$T/two.py" <<'EOF'
import os, socket, sys, threading
port = int(sys.argv[1])
payloads = [os.urandom(1_000_000), os.urandom(700_000)]
socks = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in payloads]
results = [b"", b""]
def read(i):
    while len(results[i]) < len(payloads[i]):
        chunk = socks[i].recv(65536)
        if not chunk: break
        results[i] += chunk
readers = [threading.Thread(target=read, args=(i,)) for i in range(2)]
for r in readers: r.start()
for offset in range(0, 1_000_000, 50_000):   # interleave the two connections
    for s, p in zip(socks, payloads): s.sendall(p[offset:offset + 50_000])
for r in readers: r.join(30)
print("ok" if results == payloads else f"mismatch {len(results[0])} {len(results[1])}")
EOF
expect_eq "two concurrent connections, both byte-exact" ok "$(timeout 40 python3 "$T/two.py" "$LISTEN_PORT")"

BAD_PORT=$(free_port)
"$TCPTOWS" --listen "127.0.0.1:$BAD_PORT" "$WS/client/missing" > "$T/bad.out" 2> "$T/bad.err" &
BAD_PID=$!
started $BAD_PID
wait_until 10 grep -q listening "$T/bad.out" || { fail "tcptows for a missing ID listens"; finish; }
closed=$(timeout 10 python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $BAD_PORT), timeout=8)
print('closed' if s.recv(10) == b'' else 'open')")
expect_eq "a failed dial closes that TCP connection" closed "$closed"
wait_until 10 grep -q 404 "$T/bad.err"
expect_contains "and logs one line" 'tcptows: connection from 127.0.0.1:' "$(cat "$T/bad.err")"
expect_contains "naming the cause" 'no agent is connected under ID "missing" (404 from server)' "$(cat "$T/bad.err")"
kill -0 "$BAD_PID" 2>/dev/null && pass "tcptows keeps serving after a failed dial" || fail "tcptows died after a failed dial"
expect_eq "tcptows still serves the good URL" ok "$(timeout 40 python3 "$T/two.py" "$LISTEN_PORT")"
sleep 1.5
zombies=$(ps -o stat= --ppid "$TCPTOWS_PID" 2>/dev/null | grep -c Z)
expect_eq "finished children are reaped" 0 "$zombies"
out=$(timeout 5 "$TCPTOWS" --listen "127.0.0.1:$LISTEN_PORT" "$WS/echo" 2>&1); rc=$?
expect_eq "port in use: exit 1" 1 "$rc"
expect_eq "port in use: one line" "tcptows: cannot listen on 127.0.0.1:$LISTEN_PORT: Address already in use" "$out"
out=$(timeout 5 "$TCPTOWS" --listen nonsense "$WS/echo" 2>&1); rc=$?
expect_eq "bad --listen: exit 2" 2 "$rc"
expect_contains "bad --listen: the first line names the flag" "--listen" "$(head -1 <<< "$out")"
finish
