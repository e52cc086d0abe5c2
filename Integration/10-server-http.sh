#!/usr/bin/env bash
# The server's plain HTTP side, as curl, wget and a browser see it: the docs page,
# downloads, refusals with their status codes, limits, metrics.
source "$(dirname "$0")/lib.sh"
start_server --head-timeout 2s --max-head-bytes 4096 || exit 1

echo "docs page"
page=$(curl -fsS "http://$SERVER/")
expect_contains "GET / shows the agent download command" "curl http://$SERVER/docs/agent" "$page"
expect_contains "GET / shows the agent start command" "./agent --id ID ws://$SERVER" "$page"
expect_contains "GET / shows the wsproxy ssh command" "wsproxy ws://$SERVER/client/ID" "$page"
check "GET /docs answers 200" curl -fsS -o /dev/null "http://$SERVER/docs"
proxied=$(curl -fsS -H "X-Forwarded-Proto: https" -H "X-Forwarded-Host: converge.example.com" "http://$SERVER/docs")
expect_contains "behind TLS the page shows https downloads" "curl https://converge.example.com/docs/agent" "$proxied"
expect_contains "behind TLS the page shows wss commands" "wsproxy wss://converge.example.com/client/ID" "$proxied"
hostile=$(curl -fsS -H 'Host: evil<script>' "http://$SERVER/")
if [[ "$hostile" == *"<script>"* ]]; then fail "a hostile Host header is not echoed into the page"; else pass "a hostile Host header is not echoed into the page"; fi

echo "downloads"
for name in agent wsproxy tcptows; do
  size=$(stat -c %s "$DIST/$name")
  curl -fsS -o "$T/curl-$name" "http://$SERVER/docs/$name"
  check "curl downloads $name byte-exact" cmp -s "$T/curl-$name" "$DIST/$name"
  length=$(curl -fsSI "http://$SERVER/docs/$name" | tr -d '\r' | awk 'tolower($1)=="content-length:" {print $2}')
  expect_eq "HEAD /docs/$name gives the exact Content-Length" "$size" "$length"
  type=$(curl -fsSI "http://$SERVER/docs/$name" | tr -d '\r' | awk 'tolower($1)=="content-type:" {print $2}')
  expect_eq "/docs/$name is application/octet-stream" "application/octet-stream" "$type"
done
wget -q -O "$T/wget-agent" "http://$SERVER/docs/agent"
check "wget downloads the agent byte-exact" cmp -s "$T/wget-agent" "$DIST/agent"

echo "refusals"
status() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
expect_eq "GET /docs/agent.exe is 404" 404 "$(status "http://$SERVER/docs/agent.exe")"
expect_contains "the .exe 404 says Windows builds are not provided" "Windows builds are not provided" "$(cat "$T/body")"
expect_eq "GET /docs/nothing is 404" 404 "$(status "http://$SERVER/docs/nothing")"
expect_eq "GET /nowhere is 404" 404 "$(status "http://$SERVER/nowhere")"
expect_eq "POST /docs is 405" 405 "$(status -X POST "http://$SERVER/docs")"
expect_eq "a bad client ID is 400" 400 "$(status "http://$SERVER/client/bad%20id")"
expect_eq "a 65-character agent ID is 400" 400 "$(status "http://$SERVER/agent/$(printf 'a%.0s' {1..65})")"
expect_eq "an ID with a slash is 400" 400 "$(status "http://$SERVER/client/a/b")"
ws_headers=(-H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
expect_eq "a client for an absent agent is 404 before the upgrade" 404 "$(status "${ws_headers[@]}" "http://$SERVER/client/nobody")"
expect_contains "the 404 body names the ID" "nobody" "$(cat "$T/body")"
expect_eq "an /agent/ID request without an upgrade is 426" 426 "$(status "http://$SERVER/agent/someid" -H "X-Converge-Agent-Key: $(printf 'k%.0s' {1..40})")"
expect_eq "an agent without a key is 400" 400 "$(status "${ws_headers[@]}" "http://$SERVER/agent/someid")"
garbage=$(printf 'NONSENSE\r\n\r\n' | timeout 5 socat - TCP:$SERVER 2>/dev/null | head -1 | tr -d '\r')
expect_contains "a malformed request line is 400" "400" "$garbage"
big=$(python3 -c "print('GET / HTTP/1.1\r\nX: ' + 'a'*5000 + '\r\n\r\n', end='')" | timeout 5 socat - TCP:$SERVER 2>/dev/null | head -1 | tr -d '\r')
expect_contains "an oversized head is 431" "431" "$big"
start=$(date +%s.%N)
slow=$( (printf 'GET / HTTP/1.1\r\n'; sleep 4) | timeout 8 socat - TCP:$SERVER 2>/dev/null | head -1 | tr -d '\r')
expect_contains "a head not finished in time is 408 (slowloris)" "408" "$slow"

echo "metrics"
m=$(curl -fsS "http://$SERVER/metrics")
for name in converge_agents_waiting converge_sessions_active converge_bytes_relayed_total converge_connections_refused_total; do
  expect_contains "/metrics has $name" "# TYPE $name" "$m"
done
expect_contains "/metrics counts refusals by reason" 'converge_connections_refused_total{reason="head_timeout"}' "$m"

echo "still serving"
check "the server still answers after all that" curl -fsS -o /dev/null "http://$SERVER/docs"
check "the server process is alive" kill -0 "$SERVER_PID"
finish
