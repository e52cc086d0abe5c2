#!/usr/bin/env bash
# The operator's view: /sessions and /api/sessions are off without --admin-token-file or
# --user, refuse wrong credentials (401, throttled, logged, counted), show agents and their
# sessions as JSON and HTML (a hostile host name as text), stream updates as Server-Sent
# Events, and live in a real headless browser: an agent appears, is "1 connected" while an
# ssh session runs, its bytes grow, and it leaves, all without a reload.
source "$(dirname "$0")/lib.sh"

echo "off by default"
start_server || exit 1
for path in /sessions /api/sessions /sessions/events; do
  expect_eq "$path is 404 without the flag" 404 "$(curl -s -o "$T/off.txt" -w '%{http_code}' -u ops:whatever-it-is-0123 "http://$SERVER$path")"
done
expect_contains "the 404 says how to turn it on" "--admin-token-file" "$(cat "$T/off.txt")"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

echo "credentials"
TOKEN="admin-$RANDOM-$RANDOM-$RANDOM-$RANDOM"
printf '# operators\n%s\n' "$TOKEN" >"$T/admin-tokens"
PASSWORD="pw-$RANDOM-$RANDOM-$RANDOM"
JP=$(free_port)
CONVERGE_PASSWORD=$PASSWORD start_server --admin-token-file "$T/admin-tokens" --user ci \
  --ssh-listen "127.0.0.1:$JP" --ssh-host-key "$T/jump_key" || exit 1
API=http://$SERVER/api/sessions
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "no credentials: 401" 401 "$(code "$API")"
expect_contains "the 401 asks for Basic credentials" 'WWW-Authenticate: Basic realm="converge sessions"' "$(curl -s -D - -o /dev/null "$API" | tr -d '\r')"
expect_eq "a wrong token: 401" 401 "$(code -u ops:wrong-token-0123456789 "$API")"
expect_eq "a token as the user name is no password: 401" 401 "$(code -u "$TOKEN": "$API")"
expect_eq "the server's user with a wrong password: 401" 401 "$(code -u ci:nope "$API")"
expect_eq "after 3 wrong ones the address waits: 429" 429 "$(code -u "ops:$TOKEN" "$API")"
expect_eq "wrong credentials are counted under admin_auth" 4 "$(metric 'converge_connections_refused_total{reason="admin_auth"}')"
check "they are logged with the limit's name" grep -q "wrong credentials for the sessions page (limit: admin_auth)" "$SERVER_LOG"
sleep 2.2
expect_eq "a token logs in (any user name)" 200 "$(code -u "ops:$TOKEN" "$API")"
expect_eq "the server's --user and password log in" 200 "$(code -u "ci:$PASSWORD" "http://$SERVER/sessions")"
expect_eq "the event stream needs them too" 401 "$(code --max-time 3 "http://$SERVER/sessions/events")"

printf 'short\n' >"$T/bad-tokens"
"$DIST/converge" --listen "127.0.0.1:$(free_port)" --admin-token-file "$T/bad-tokens" >"$T/bad.out" 2>&1
expect_eq "an admin token file with a too-short token is a usage error" 2 "$?"
expect_contains "it names the flag and the line" "--admin-token-file $T/bad-tokens: line 1:" "$(head -1 "$T/bad.out")"

echo "what it shows"
GOOD=(-u "ops:$TOKEN")
start_job_agent --key frank shown --timeout 10m
json=$(curl -fsS "${GOOD[@]}" "$API")
echo "$json" >"$T/api.json"
check "the JSON has the documented shape" python3 - "$T/api.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert set(doc) == {"time", "totals", "agents"}, doc.keys()
assert {"agents_waiting", "agent_ids", "sessions_active", "sessions_total", "bytes_client_to_agent", "bytes_agent_to_client", "refused"} <= set(doc["totals"])
agent = next(a for a in doc["agents"] if a["id"] == "shown")
keys = {"id", "registered", "state", "connected", "logged_in", "waits_until", "expires", "version", "host", "os", "user", "directory", "job_url", "sessions"}
assert set(agent) == keys, set(agent) ^ keys
assert agent["state"] == "waiting" and agent["connected"] == 0 and agent["sessions"] == [], agent
assert agent["version"].startswith("converge-agent") and agent["host"] and "Linux" in agent["os"], agent
assert agent["directory"].endswith("/job-shown") and agent["waits_until"] and agent["expires"] is None, agent
assert doc["totals"]["refused"]["admin_auth"] == 4, doc["totals"]
PY
expect_contains "the totals are /metrics' numbers" "\"agents_waiting\":$(metric converge_agents_waiting)," "$json"

# A hostile agent: its host name is markup. It speaks the agent leg by hand.
python3 - "$SERVER" >"$T/evil.log" 2>&1 <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(("GET /agent/evil HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           "X-Converge-Agent-Key: " + "k" * 40 + "\r\n"
           "X-Converge-Agent-Host: <script>alert(1)</script>\r\n"
           "X-Converge-Agent-Job-URL: javascript:alert(2)\r\n\r\n").encode())
print(s.recv(4096).split(b"\r\n")[0].decode(), flush=True)
time.sleep(120)
PY
started $!
wait_until 10 grep -q "101" "$T/evil.log"
page=$(curl -fsS "${GOOD[@]}" "http://$SERVER/sessions")
expect_contains "the hostile host name is shown as text" "&lt;script&gt;alert(1)&lt;/script&gt;" "$page"
check "and never as markup" bash -c '! grep -qF "<script>alert(1)" <<<"$1"' _ "$page"
check "a javascript: job link is no link" bash -c '! grep -qF "href=\"javascript:" <<<"$1"' _ "$page"
expect_contains "the JSON has it verbatim, escaped" '"host":"\u003cscript\u003ealert(1)\u003c/script\u003e"' "$(curl -fsS "${GOOD[@]}" "$API")"

echo "live updates"
curl -sN --max-time 3 "${GOOD[@]}" "http://$SERVER/sessions/events" >"$T/events.txt"
expect_contains "the stream is Server-Sent Events with the full state first" "event: state" "$(head -c 300 "$T/events.txt")"
expect_contains "it tells the browser when to reconnect" "retry: 2000" "$(cat "$T/events.txt")"
expect_contains "the state names the agents" 'data-id="shown"' "$(cat "$T/events.txt")"

echo "a session"
job_ssh shown me@localhost 'for i in 1 2 3 4 5 6; do head -c 50000 /dev/zero; sleep 1; done' >/dev/null &
SSH_PID=$!
started $SSH_PID
check "the JSON shows the session with its client and path" wait_until 15 bash -c \
  "curl -fsS -u 'ops:$TOKEN' '$API' | grep -q '\"id\":\"shown\".*\"state\":\"connected\",\"connected\":1,\"logged_in\":1.*\"client\":\"127.0.0.1:[0-9]*\",\"path\":\"ws\"'"
check "its bytes grow" wait_until 15 bash -c \
  "curl -fsS -u 'ops:$TOKEN' '$API' | grep -qE '\"duration_seconds\":[0-9]+,\"bytes_client_to_agent\":[0-9]+,\"bytes_agent_to_client\":[0-9]{6,}'"
expect_contains "the agent reported its expiry once somebody logged in" '"expires":"20' "$(curl -fsS "${GOOD[@]}" "$API")"
wait "$SSH_PID"
printf 'Host jump\n  HostName 127.0.0.1\n  Port %s\nHost *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  IdentityFile %s\n  LogLevel ERROR\n' \
  "$JP" "$CLIENT_KEY" >"$T/ssh_config"
ssh -F "$T/ssh_config" -J jump me@shown 'sleep 5' &
started $!
check "a session through the jump host (ssh -J) shows path ssh" wait_until 15 bash -c \
  "curl -fsS -u 'ops:$TOKEN' '$API' | grep -q '\"id\":\"shown\".*\"path\":\"ssh\"'"

echo "in a browser"
if ! python3 -c 'import selenium' 2>/dev/null || [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  fail "chromium, chromium-driver and selenium are installed (make test-deps)"
  finish
fi
python3 "$TOOLS/sessions_browser.py" "http://$SERVER" ops "$TOKEN" browser "$T" >"$T/browser.log" 2>&1 &
started $!
wait_until 60 grep -q "^step loaded" "$T/browser.log"
start_job_agent --key frank --no-hold browser --timeout 10m
wait_until 40 grep -q "^step appeared" "$T/browser.log"
# Output for 10 s: the worker reports bytes every 2 s, the page shows them grow.
job_ssh browser me@localhost 'for i in 1 2 3 4 5 6 7 8 9 10; do head -c 50000 /dev/zero; sleep 1; done' >/dev/null
wait_until 90 grep -q "^step done" "$T/browser.log"
while read -r verdict text; do
  case $verdict in PASS) pass "$text" ;; FAIL) fail "$text" ;; esac
done <"$T/browser.log"
check "the browser run ended" grep -q "^step done" "$T/browser.log" || cat "$T/browser.log"
check "it saved a screenshot ($T/sessions-connected.png)" test -s "$T/sessions-connected.png"
finish
