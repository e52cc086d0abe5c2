#!/usr/bin/env bash
# The server's limits on who connects: behind a trusted proxy (--trusted-proxy) the client
# named in X-Forwarded-For is what the per-address limit counts, what the log names and
# what the agent is told; from anyone else the header is ignored. --max-sessions-per-id
# caps one ID's sessions. Each refusal: what the user sees, the log line naming the
# limit, the /metrics counter.
source "$(dirname "$0")/lib.sh"
# 127.0.0.2 plays the proxy (any 127/8 address reaches loopback); 127.0.0.1 is a client.
PROXY=127.0.0.2
start_server --trusted-proxy "$PROXY" --max-connections-per-address 2 || exit 1
status() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
via_proxy() { curl --interface "$PROXY" "$@"; }

echo "X-Forwarded-For from a trusted proxy"
check "the start-up line names the trusted proxy" grep -q "X-Forwarded-For when the peer is a trusted proxy: $PROXY" "$SERVER_LOG"
expect_eq "a request through the proxy is served" 200 "$(via_proxy -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.7' "http://$SERVER/docs")"
check "the log names the forwarded client" grep -q "Z 203.0.113.7 GET /docs 200" "$SERVER_LOG"
via_proxy -fsS -o /dev/null -H 'X-Forwarded-For: 6.6.6.6, 198.51.100.4' "http://$SERVER/docs?chain"
check "the rightmost untrusted address is the client (the rest was written by the client)" grep -q "Z 198.51.100.4 GET /docs?chain 200" "$SERVER_LOG"
curl -fsS -o /dev/null -H 'X-Forwarded-For: 192.0.2.99' "http://$SERVER/docs?direct"
check "from an untrusted peer the header is ignored" grep -q "Z 127.0.0.1:[0-9]* GET /docs?direct 200" "$SERVER_LOG"
check "an ignored address is never logged" bash -c "! grep -q 192.0.2.99 '$SERVER_LOG'"
expect_eq "a malformed X-Forwarded-For from the proxy is 400" 400 "$(status --interface "$PROXY" -H 'X-Forwarded-For: not-an-address' "http://$SERVER/docs")"
expect_contains "its body says what is wrong" "malformed X-Forwarded-For from a trusted proxy: \"not-an-address\"" "$(cat "$T/body")"
expect_eq "the 400 body is one line" 1 "$(wc -l <"$T/body")"
expect_contains "it is counted" 'converge_connections_refused_total{reason="bad_forwarded_for"} 1' "$(curl -fsS "http://$SERVER/metrics")"

echo "max_connections_per_address counts the forwarded client"
# Two downloads from 203.0.113.7 that nobody reads keep two connections open (the agent
# is ~20 MB, far more than the socket buffers); each holder prints "sent" once it asked.
hold_download() {
  python3 - "$SERVER_PORT" "$PROXY" "$1" <<'PY' &
import socket, sys, time
port, source, client = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind((source, 0))
s.connect(("127.0.0.1", port))
s.sendall(("GET /docs/agent HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\n\r\n" % client).encode())
print("sent", flush=True)
time.sleep(60)
PY
  started $!
}
hold_download 203.0.113.7 >"$T/hold1"
hold_download 203.0.113.7 >"$T/hold2"
downloads() { grep -c 'Z 203.0.113.7 GET /docs/agent 200' "$SERVER_LOG"; }
wait_until 10 bash -c "[ \$(grep -c 'Z 203.0.113.7 GET /docs/agent 200' '$SERVER_LOG') -eq 2 ]"
expect_eq "two downloads for 203.0.113.7 are in progress" 2 "$(downloads)"
expect_eq "a third connection for 203.0.113.7 through the proxy is 429" 429 "$(status --interface "$PROXY" -H 'X-Forwarded-For: 203.0.113.7' "http://$SERVER/docs")"
expect_contains "the 429 names the limit" "limit: max_connections_per_address" "$(cat "$T/body")"
check "the refusal is logged under the client's address with the limit's name" \
  grep -q "Z 203.0.113.7 refused 429: limit max_connections_per_address (2) reached" "$SERVER_LOG"
expect_contains "it is counted" 'converge_connections_refused_total{reason="max_connections_per_address"} 1' "$(curl -fsS "http://$SERVER/metrics")"
expect_eq "another client behind the same proxy is not affected" 200 "$(via_proxy -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 198.51.100.20' "http://$SERVER/docs")"
expect_eq "nor is the proxy's own address used for the count" 200 "$(via_proxy -s -o /dev/null -w '%{http_code}' "http://$SERVER/docs")"

echo "the agent is told the forwarded client"
start_job_agent --key erin p1 --timeout 120s
python3 - "$SERVER_PORT" "$PROXY" <<'PY' >"$T/upgrade.out" 2>&1
import socket, sys, time
port, source = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
s.sendall(b"GET /client/p1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"X-Forwarded-For: 203.0.113.50\r\n\r\n")
print(s.recv(200).split(b"\r\n")[0].decode())
time.sleep(1)
PY
expect_contains "the forwarded client's upgrade is answered 101" "101" "$(cat "$T/upgrade.out")"
check "the server logs the pairing under the forwarded client" grep -q "Z 203.0.113.50 client id=p1 paired with agent" "$SERVER_LOG"
wait_until 10 grep -q "client 203.0.113.50 connected" "$AGENT_LOG"
check "the agent's log names the forwarded client (session client=)" grep -q "client 203.0.113.50 connected" "$AGENT_LOG"

echo "max_sessions_per_id"
kill "$SERVER_PID" "$AGENT_PID" 2>/dev/null
wait "$SERVER_PID" "$AGENT_PID" 2>/dev/null
mv "$SERVER_LOG" "$T/server-proxy.log"
start_server --max-sessions-per-id 1 || exit 1
start_job_agent --key erin p1 --timeout 120s
start_job_agent --key erin p2 --timeout 120s
job_ssh p1 me@localhost 'echo busy; sleep 30' >"$T/long.out" 2>&1 &
LONG=$!
started $LONG
wait_until 20 grep -q busy "$T/long.out"
expect_eq "one session runs for p1" 1 "$(metric converge_sessions_active)"
out=$(job_ssh p1 me@localhost 'echo second' 2>&1)
rc=$?
expect_eq "a second client for p1 is refused (ssh exits 255)" 255 "$rc"
expect_contains "the user sees wsproxy's line with the 503 and the limit" "503" "$out"
expect_contains "it names the limit" "limit: max_sessions_per_id 1" "$out"
check "the refusal is logged with the limit's name" grep -q "refused 503: ID p1 is at its session limit.*(limit: max_sessions_per_id 1)" "$SERVER_LOG"
expect_contains "it is counted" 'converge_connections_refused_total{reason="max_sessions_per_id"} 1' "$(curl -fsS "http://$SERVER/metrics")"
expect_eq "another ID is not limited by p1's sessions" "other" "$(job_ssh p2 me@localhost 'echo other')"
kill $(descendants $LONG) "$LONG" 2>/dev/null  # the user leaves: ssh ends, the session with it
wait_until 20 bash -c "curl -fsS 'http://$SERVER/metrics' | grep -q '^converge_sessions_active 0'"
expect_eq "once p1's session has ended, p1 takes a client again" "again" "$(job_ssh p1 me@localhost 'echo again')"

echo "usage"
"$DIST/converge" --trusted-proxy nginx.local >"$T/bad.out" 2>&1
expect_eq "a --trusted-proxy that is not an address is a usage error" 2 "$?"
expect_contains "it names the flag" "--trusted-proxy" "$(head -1 "$T/bad.out")"
"$DIST/converge" --max-sessions-per-id 0 >"$T/bad.out" 2>&1
expect_eq "--max-sessions-per-id 0 is a usage error" 2 "$?"
finish
