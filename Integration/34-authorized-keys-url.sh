#!/usr/bin/env bash
# --authorized-keys-url: the agent fetches OpenSSH public keys at start (think
# https://github.com/USER.keys) over verified TLS and the environment's proxy, the same
# path as its WebSocket. Keys from every URL log in; others do not. An unreachable URL,
# an error status, an empty list or an unverifiable certificate stops the agent at once
# with one line and exit 2: a login source asked for by name must not silently vanish.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/tls_fixture.sh"
unset no_proxy NO_PROXY http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
make_test_ca || { fail "openssl makes a test CA"; finish; }
start_server || exit 1
make_client_key alice
make_client_key bob
make_client_key carol
mkdir -p "$T/www/users"
cp "$T/alice.pub" "$T/www/users/alice.keys"
{ echo "# bob's keys"; echo "not a key line"; cat "$T/bob.pub"; } >"$T/www/users/bob.keys"
: >"$T/www/users/nobody.keys"
KP=$(free_port)
python3 -u "$TOOLS/https_static.py" "$KP" "$T/www" "$T/tls/server.pem" "$T/tls/server.key" >"$T/keys-server.log" 2>&1 &
started $!
wait_until 10 curl -fsS -o /dev/null --cacert "$CA" "https://127.0.0.1:$KP/users/alice.keys" || { fail "the HTTPS key server starts"; finish; }
KEYS=https://127.0.0.1:$KP/users
as() { local who=$1 id=$2; shift 2; ssh "${SSH_OPTS[@]}" -i "$T/$who" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$id" me@localhost "$@"; }

echo "keys from two URLs"
start_job_agent k1 --cacert "$CA" --timeout 120s --authorized-keys-url "$KEYS/alice.keys" --authorized-keys-url "https://127.0.0.1:$KP/redirect/users/bob.keys"
expect_contains "the agent starts with keys from URLs" "agent ready: ID k1" "$(cat "$AGENT_LOG")"
expect_contains "it logs alice's key with its fingerprint" "$(ssh-keygen -lf "$T/alice.pub" | cut -d' ' -f2)" "$(cat "$AGENT_LOG")"
expect_contains "it logs the line it skipped in bob's list" "line 2" "$(cat "$AGENT_LOG")"
expect_eq "alice (first URL) logs in" "hi alice" "$(as alice k1 'echo hi alice')"
expect_eq "bob (second URL, behind a redirect) logs in" "hi bob" "$(as bob k1 'echo hi bob')"
as carol k1 true 2>/dev/null
check "carol (in no list) is refused" test $? -ne 0
check "the key server saw both fetches" test "$(grep -c 'GET /users/' "$T/keys-server.log")" -ge 2

start_job_agent k3 --cacert "$CA" --timeout 120s --authorized-keys-url "https://127.0.0.1:$KP/chunked/users/bob.keys"
expect_contains "a chunked answer (as big key servers send) is read whole" "agent ready: ID k3" "$(cat "$AGENT_LOG")"
expect_eq "bob logs in with the key from the chunked answer" "chunked" "$(as bob k3 'echo chunked')"

echo "through https_proxy, as the WebSocket would"
PP=$(free_port)
python3 -u "$TOOLS/connect_proxy.py" "$PP" >"$T/proxy.log" 2>&1 &
started $!
wait_until 10 grep -q listening "$T/proxy.log"
https_proxy=http://127.0.0.1:$PP start_job_agent k2 --cacert "$CA" --timeout 120s --authorized-keys-url "$KEYS/alice.keys"
expect_contains "the agent fetched its keys through the proxy and started" "agent ready: ID k2" "$(cat "$AGENT_LOG")"
check "the proxy's log shows the CONNECT to the key server" grep -q "CONNECT 127.0.0.1:$KP 200" "$T/proxy.log"
expect_eq "alice logs in to it" "ok" "$(as alice k2 'echo ok')"

# run_agent_fails ID ARGS...: the agent must exit quickly; sets RC and OUT.
run_agent_fails() {
  local id=$1; shift
  mkdir -p "$T/job-$id"
  OUT=$(cd "$T/job-$id" && timeout 40 "$DIST/agent" --id "$id" --timeout 60s "$@" "ws://$SERVER" 2>&1)
  RC=$?
}

echo "failures stop the agent with one line and exit 2"
CLOSED=$(free_port)
run_agent_fails f1 --cacert "$CA" --authorized-keys-url "https://127.0.0.1:$CLOSED/alice.keys"
expect_eq "unreachable URL: exit 2" 2 "$RC"
expect_contains "unreachable URL: the line says it cannot fetch, and why" "cannot fetch keys: https://127.0.0.1:$CLOSED/alice.keys" "$OUT"
expect_eq "unreachable URL: one line" 1 "$(echo "$OUT" | wc -l)"
run_agent_fails f2 --cacert "$CA" --authorized-keys-url "$KEYS/nobody.keys"
expect_eq "empty key list: exit 2" 2 "$RC"
expect_contains "empty key list: the line says so" "holds no usable key" "$OUT"
run_agent_fails f3 --cacert "$CA" --authorized-keys-url "$KEYS/missing.keys"
expect_eq "404: exit 2" 2 "$RC"
expect_contains "404: the line shows the status" "HTTP 404" "$OUT"
run_agent_fails f4 --authorized-keys-url "$KEYS/alice.keys"
expect_eq "certificate not trusted (no --cacert): exit 2" 2 "$RC"
expect_contains "certificate not trusted: the line says certificate" "certificate verify failed" "$OUT"
run_agent_fails f5 --authorized-keys-url "http://127.0.0.1:$KP/users/alice.keys"
expect_eq "plain http:// without --insecure: exit 2" 2 "$RC"
expect_contains "plain http://: the line says to use https" "use https://" "$OUT"
head -c 1100000 /dev/zero | tr '\0' 'x' >"$T/www/users/huge.keys"
run_agent_fails f7 --cacert "$CA" --authorized-keys-url "$KEYS/huge.keys"
expect_eq "an answer over 1 MiB: exit 2" 2 "$RC"
expect_contains "an answer over 1 MiB: the line says it is too large" "larger than" "$OUT"
SILENT=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(8); time.sleep(300)' "$SILENT" &
started $!
wait_until 5 bash -c "echo >/dev/tcp/127.0.0.1/$SILENT"
t0=$(date +%s)
run_agent_fails f8 --cacert "$CA" --authorized-keys-url "https://127.0.0.1:$SILENT/alice.keys"
took=$(( $(date +%s) - t0 ))
expect_eq "a server that never answers: exit 2" 2 "$RC"
check "a server that never answers: given up within the 20 s fetch bound (${took}s)" test "$took" -le 25
expect_contains "a server that never answers: the line says it timed out" "timed out" "$OUT"
authorize alice f6
run_agent_fails f6 --cacert "$CA" --authorized-keys-url "$KEYS/nobody.keys"
expect_eq "an empty list stops the agent even when .authorized_keys has keys" 2 "$RC"
check "no failed agent is left running" bash -c "! pgrep -f 'agent --id f[0-9]'"
finish
