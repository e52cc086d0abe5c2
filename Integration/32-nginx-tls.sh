#!/usr/bin/env bash
# converge behind nginx with TLS, as deploy/nginx.conf sets it up: a throwaway CA signs a
# certificate for converge.test and 127.0.0.1. The docs page shows wss:// and https://
# commands for the nginx host, curl and wget download the agent through nginx, the agent
# registers over wss:// and ssh/sftp reach it through wsproxy and tcptows. Without the CA
# everything refuses with a certificate error; --insecure connects with a warning. The same
# server's SSH jump host, on its own port beside nginx, reaches the agent with ssh -J.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/tls_fixture.sh"
command -v nginx >/dev/null || { fail "nginx is installed (make test-deps)"; finish; }

# As deploy/converge.service runs it: nginx (127.0.0.1) is trusted to name the client.
JP=$(free_port)
ADMIN_TOKEN="admin-$RANDOM-$RANDOM-$RANDOM-$RANDOM"
echo "$ADMIN_TOKEN" >"$T/admin-tokens"
start_server --trusted-proxy 127.0.0.1 --ssh-listen "127.0.0.1:$JP" --ssh-host-key "$T/jump_key" --admin-token-file "$T/admin-tokens" || exit 1
start_tls_nginx || { fail "nginx starts with deploy/nginx.conf's proxy settings and the test certificate"; finish; }
HOST=converge.test:$NP
RESOLVE=(--resolve "converge.test:$NP:127.0.0.1" --cacert "$CA")
check "nginx runs deploy/nginx.conf's location block (1 h timeouts, no buffering)" \
  grep -q "proxy_read_timeout 1h" "$T/nginx/nginx.conf"
check "nginx answers for converge.test over https (curl --resolve)" curl -fsS -o /dev/null "${RESOLVE[@]}" "https://$HOST/metrics"

echo "the client's address through nginx (X-Forwarded-For, --trusted-proxy)"
# curl from 127.0.0.2 (still loopback): nginx sees that address and forwards it.
curl -fsS -o /dev/null --interface 127.0.0.2 "${RESOLVE[@]}" "https://$HOST/docs?from-2"
check "converge logs the client nginx forwarded, not nginx" grep -q "Z 127.0.0.2 GET /docs?from-2 200" "$SERVER_LOG"
curl -fsS -o /dev/null --interface 127.0.0.2 -H "X-Forwarded-For: 192.0.2.66" "${RESOLVE[@]}" "https://$HOST/docs?spoof"
check "an address the client wrote in X-Forwarded-For is not believed" grep -q "Z 127.0.0.2 GET /docs?spoof 200" "$SERVER_LOG"

echo "the operator's live page through nginx (Server-Sent Events)"
curl -sN --max-time 300 -u "ops:$ADMIN_TOKEN" "${RESOLVE[@]}" "https://$HOST/sessions/events" >"$T/events.txt" 2>&1 &
EVENTS_PID=$!
started $EVENTS_PID
check "the event stream's full state comes through nginx at once" wait_until 5 grep -q "^event: state" "$T/events.txt"

echo "the docs page over https://"
page=$(curl -fsS "${RESOLVE[@]}" "https://$HOST/")
expect_contains "the page shows the agent download over https:// for the nginx host" "https://$HOST/docs/agent" "$page"
expect_contains "the page shows the agent command with wss://" "wss://$HOST" "$page"
expect_contains "the page shows wsproxy with wss://.../client/ID" "wsproxy wss://$HOST/client/" "$page"
expect_contains "the page's CI recipes download over https:// from the nginx host" "curl -fsS -o agent https://$HOST/docs/agent" "$page"
expect_contains "the page's CI recipes fetch keys with --authorized-keys-url" "--authorized-keys-url" "$page"
expect_contains "the page shows ssh -J with the nginx host's name and the jump port" "ssh -J converge.test:$JP USER@ID" "$page"
if [[ "$page" == *"ws://127.0.0.1"* || "$page" == *"http://127.0.0.1"* ]]; then
  fail "the page never shows the backend's plain address"
else
  pass "the page never shows the backend's plain address"
fi

echo "downloads through nginx"
curl -fsS "${RESOLVE[@]}" -o "$T/agent.curl" "https://$HOST/docs/agent"
expect_eq "curl downloads the agent byte-exact over https" "$(sha "$DIST/agent")" "$(sha "$T/agent.curl")"
wget -q --ca-certificate="$CA" -O "$T/agent.wget" "https://127.0.0.1:$NP/docs/agent"
expect_eq "wget downloads the agent byte-exact over https" "$(sha "$DIST/agent")" "$(sha "$T/agent.wget")"
wget -q -O /dev/null "https://127.0.0.1:$NP/docs/agent" 2>/dev/null
check "wget without the CA refuses the certificate" test $? -ne 0

echo "the agent over wss:// with --cacert"
start_job_agent --key alice --url "wss://127.0.0.1:$NP" t1 --cacert "$CA" --timeout 120s
expect_contains "the agent registers through nginx over wss://" "agent ready: ID t1" "$(cat "$AGENT_LOG")"
check "an update comes through nginx on the open event stream (no buffering)" wait_until 5 grep -q 'data-id="t1"' "$T/events.txt"
check "the event stream is still open" kill -0 "$EVENTS_PID"
WSPROXY=("$DIST/wsproxy" --cacert "$CA" "wss://127.0.0.1:$NP/client/t1")
out=$(ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="${WSPROXY[*]}" me@localhost 'echo over-tls; exit 3')
expect_eq "ssh through wsproxy --cacert over wss:// (output and status)" "over-tls 3" "$out $?"
head -c 300000 /dev/urandom >"$T/blob"
printf 'put %s up.bin\nget up.bin %s\n' "$T/blob" "$T/blob.back" >"$T/batch"
sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="${WSPROXY[*]}" -b "$T/batch" me@localhost >"$T/sftp.log" 2>&1
expect_eq "sftp put and get through wsproxy over wss:// are exact" "$(sha "$T/blob")" "$(sha "$T/blob.back")"
expect_eq "the uploaded file landed in the job's directory" "$(sha "$T/blob")" "$(sha "$T/job-t1/up.bin")"
expect_contains "the agent registered over wss:// prints ssh -J with its server's host" "connect: ssh -J 127.0.0.1:$JP" "$(cat "$AGENT_LOG")"
grep -o 'known_hosts: converge-t1 .*' "$AGENT_LOG" | head -1 | cut -d' ' -f2- >"$T/known_hosts"
grep -o 'jump host known_hosts: .*' "$AGENT_LOG" | head -1 | cut -d' ' -f4- >>"$T/known_hosts"
printf 'Host *\n  StrictHostKeyChecking yes\n  UserKnownHostsFile %s\n  BatchMode yes\n  LogLevel ERROR\n  IdentityFile %s\n' "$T/known_hosts" "$CLIENT_KEY" >"$T/ssh_config"
out=$(ssh -F "$T/ssh_config" -J "127.0.0.1:$JP" -o HostKeyAlias=converge-t1 me@t1 'echo via-jump' 2>&1)
expect_eq "ssh -J to the jump port reaches the agent registered through nginx (keys pinned)" "via-jump" "$out"
TP=$(free_port)
"$DIST/tcptows" --listen "127.0.0.1:$TP" --cacert "$CA" "wss://127.0.0.1:$NP/client/t1" >"$T/tcptows.log" 2>&1 &
started $!
wait_until 10 bash -c "echo > /dev/tcp/127.0.0.1/$TP"
out=$(ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -p "$TP" me@localhost 'echo via-tcptows')
expect_eq "ssh through tcptows --cacert over wss://" "via-tcptows" "$out"
sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -oPort="$TP" -b <(echo "get up.bin $T/blob.tcp") me@localhost >/dev/null 2>&1
expect_eq "sftp through tcptows over wss:// is exact" "$(sha "$T/blob")" "$(sha "$T/blob.tcp")"
grep -q 'Upgrade: websocket\|GET /agent/t1' "$T/nginx/access.log" 2>/dev/null
check "nginx's access log shows the agent's and clients' requests" grep -q 'GET /client/t1' "$T/nginx/access.log"

echo "without the CA: refused, with a certificate error"
authorize alice t2
# An untrusted certificate will not fix itself: the agent exits 1 at once, saying why.
(cd "$T/job-t2" && exec timeout 15 "$DIST/agent" --id t2 --timeout 60s "wss://127.0.0.1:$NP") >"$T/agent-t2.log" 2>&1
rc=$?
expect_eq "the agent without the CA exits 1 at once" 1 "$rc"
expect_contains "the agent's log names the certificate problem" "certificate" "$(cat "$T/agent-t2.log")"
check "the agent without the CA never registered" bash -c "! grep -q 'agent ready' '$T/agent-t2.log'"
out=$(timeout 20 "$DIST/wsproxy" "wss://127.0.0.1:$NP/client/t1" </dev/null 2>&1)
rc=$?
check "wsproxy without the CA exits non-zero (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
expect_contains "wsproxy says the certificate failed" "certificate verify failed" "$out"
expect_eq "wsproxy's error is one line" 1 "$(echo "$out" | wc -l)"
out=$(ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy wss://127.0.0.1:$NP/client/t1" me@localhost true 2>&1)
check "ssh through wsproxy without the CA fails" test $? -ne 0
expect_contains "and ssh shows wsproxy's certificate line" "certificate" "$out"

echo "--insecure connects and warns"
start_job_agent --key alice --url "wss://127.0.0.1:$NP" t3 --insecure --timeout 120s
expect_contains "the agent with --insecure registers" "agent ready: ID t3" "$(cat "$AGENT_LOG")"
expect_contains "the agent with --insecure prints a warning" "warning: --insecure" "$(cat "$AGENT_LOG")"
out=$(ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy --insecure wss://127.0.0.1:$NP/client/t3" me@localhost 'echo insecure-ok' 2>"$T/insecure.err")
expect_eq "ssh through wsproxy --insecure works" "insecure-ok" "$out"
expect_contains "wsproxy --insecure prints a warning" "warning: --insecure" "$(cat "$T/insecure.err")"

echo "nginx kept the server's view right"
expect_eq "the server saw agents registered through nginx (agents waiting)" 2 "$(metric converge_agents_waiting)"
finish
