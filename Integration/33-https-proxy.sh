#!/usr/bin/env bash
# A CI job that reaches the outside only through an HTTP CONNECT proxy: https_proxy makes
# the agent and wsproxy tunnel through it (the proxy's log shows each CONNECT, and with
# the proxy gone they fail saying so); no_proxy sends them direct again.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/tls_fixture.sh"
command -v nginx >/dev/null || { fail "nginx is installed (make test-deps)"; finish; }
unset no_proxy NO_PROXY http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
start_server || exit 1
start_tls_nginx || { fail "nginx with TLS starts in front of converge"; finish; }
PP=$(free_port)
python3 -u "$TOOLS/connect_proxy.py" "$PP" >"$T/proxy.log" 2>&1 &
PROXY_PID=$!
started $PROXY_PID
wait_until 10 grep -q listening "$T/proxy.log" || { fail "the CONNECT proxy starts"; finish; }
PROXY=http://127.0.0.1:$PP
connects() { grep -c "CONNECT 127.0.0.1:$NP 200" "$T/proxy.log"; }

echo "the agent and wsproxy through https_proxy"
https_proxy=$PROXY start_job_agent --key alice --url "wss://127.0.0.1:$NP" p1 --cacert "$CA" --timeout 120s
expect_contains "the agent registers through the proxy" "agent ready: ID p1" "$(cat "$AGENT_LOG")"
check "the proxy's log shows the agent's CONNECT to nginx" test "$(connects)" -ge 1
before=$(connects)
out=$(https_proxy=$PROXY ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" \
  -o ProxyCommand="$DIST/wsproxy --cacert $CA wss://127.0.0.1:$NP/client/p1" me@localhost 'echo via-proxy')
expect_eq "ssh through wsproxy with https_proxy reaches the agent" "via-proxy" "$out"
# The session used one tunnel for wsproxy and one for the agent's fresh offer.
check "the proxy's log shows wsproxy's CONNECT too ($before -> $(connects))" test "$(connects)" -ge $((before + 1))

echo "with the proxy stopped, they fail and say so"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null
out=$(https_proxy=$PROXY timeout 20 "$DIST/wsproxy" --cacert "$CA" "wss://127.0.0.1:$NP/client/p1" </dev/null 2>&1)
rc=$?
check "wsproxy exits non-zero without its proxy (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
expect_contains "wsproxy's error names the proxy" "proxy" "$out"
authorize alice p2
(cd "$T/job-p2" && https_proxy=$PROXY exec timeout 10 "$DIST/agent" --id p2 --cacert "$CA" --timeout 60s "wss://127.0.0.1:$NP") >"$T/agent-p2.log" 2>&1
check "the agent without its proxy never registers" bash -c "! grep -q 'agent ready' '$T/agent-p2.log'"
expect_contains "the agent's log names the proxy" "proxy" "$(cat "$T/agent-p2.log")"

echo "no_proxy bypasses the (dead) proxy"
https_proxy=$PROXY no_proxy=127.0.0.1 start_job_agent --key alice --url "wss://127.0.0.1:$NP" p3 --cacert "$CA" --timeout 120s
expect_contains "the agent with no_proxy=127.0.0.1 registers directly" "agent ready: ID p3" "$(cat "$AGENT_LOG")"
out=$(https_proxy=$PROXY NO_PROXY=localhost,127.0.0.1 ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" \
  -o ProxyCommand="$DIST/wsproxy --cacert $CA wss://127.0.0.1:$NP/client/p3" me@localhost 'echo direct')
expect_eq "ssh through wsproxy with NO_PROXY reaches the agent directly" "direct" "$out"
finish
