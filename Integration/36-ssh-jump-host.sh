#!/usr/bin/env bash
# ssh -J: the server as an SSH jump host. Stock ssh, sftp and scp reach the agent with
# nothing but OpenSSH, host keys checked strictly on both hops; refusals say why; one
# jump process dies alone; the host key survives a restart; the agent leg carries the
# person's own SSH, never anything in clear.
source "$(dirname "$0")/lib.sh"
JPORT=$(free_port)
JUMP_KEY=$T/jump_host_key
start_server --ssh-listen "127.0.0.1:$JPORT" --ssh-host-key "$JUMP_KEY" --jump-login-grace-time 3s \
  --max-jump-startups-per-address 5 || exit 1
wait_until 10 bash -c "echo >/dev/tcp/127.0.0.1/$JPORT" || fail "the jump port listens"
expect_eq "the jump host key is created with mode 600" "600" "$(stat -c %a "$JUMP_KEY")"
fingerprint=$(grep -o 'jump host key SHA256:[^ ]*' "$SERVER_LOG" | head -1 | cut -d' ' -f4)
check "the server logs the jump host key's fingerprint" test -n "$fingerprint"

start_job_agent --key dana j1 --timeout 120s
banner=$(cat "$AGENT_LOG")
expect_contains "the banner shows ssh -J first" "connect: ssh -J 127.0.0.1:$JPORT -oHostKeyAlias=converge-j1 USER@j1" "$banner"
expect_contains "the banner shows sftp -J" "connect: sftp -J 127.0.0.1:$JPORT" "$banner"

# Both hops pinned: the agent's key from its banner, the jump host's from the banner and
# the docs page (they must agree), nothing learnt on the fly.
grep -o 'known_hosts: converge-j1 .*' "$AGENT_LOG" | head -1 | cut -d' ' -f2- >"$T/known_hosts"
jump_line=$(grep -o "jump host known_hosts: .*" "$AGENT_LOG" | head -1 | cut -d' ' -f4-)
echo "$jump_line" >>"$T/known_hosts"
docs=$(curl -fsS "http://$SERVER/")
expect_contains "the docs page shows the same jump host key line" "$jump_line" "$docs"
expect_contains "the docs page puts ssh -J first, with this host" "ssh -J 127.0.0.1:$JPORT USER@ID" "$docs"
expect_contains "the docs page shows the fingerprint" "$fingerprint" "$docs"
cat >"$T/ssh_config" <<CONF
Host jump
  HostName 127.0.0.1
  Port $JPORT
Host *
  StrictHostKeyChecking yes
  UserKnownHostsFile $T/known_hosts
  GlobalKnownHostsFile /dev/null
  BatchMode yes
  IdentityFile $CLIENT_KEY
  IdentitiesOnly yes
  LogLevel ERROR
  ConnectTimeout 20
CONF
jssh() { ssh -F "$T/ssh_config" -J jump -o HostKeyAlias=converge-j1 "$@"; }

out=$(jssh me@j1 'echo $((6 * 7)); exit 7' 2>"$T/err1")
rc=$?
expect_eq "ssh -J runs a command, host keys strictly checked" "42" "$out"
expect_eq "ssh -J returns the command's exit status" 7 "$rc"

# A wrong agent key in known_hosts must stop the login: the check is real.
sed 's/^converge-j1 .*/converge-j1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBogusBogusBogusBogusBogusBogusBogusBogus00/' "$T/known_hosts" >"$T/known_hosts.bad"
bad=$(ssh -F "$T/ssh_config" -o UserKnownHostsFile="$T/known_hosts.bad" -J jump -o HostKeyAlias=converge-j1 me@j1 true 2>&1)
expect_contains "a wrong agent host key is refused" "Host key verification failed" "$bad"

head -c 20000000 /dev/urandom >"$T/payload"
printf 'put %s up.bin\nget up.bin %s\n' "$T/payload" "$T/down.bin" >"$T/batch"
sftp -F "$T/ssh_config" -J jump -o HostKeyAlias=converge-j1 -b "$T/batch" me@j1 >"$T/sftp.out" 2>&1
check "sftp -J puts and gets 20 MB byte-exact" test "$(sha "$T/payload")" == "$(sha "$T/down.bin")"
check "sftp -J: the file is in the job" test "$(sha "$T/payload")" == "$(sha "$T/job-j1/up.bin")"
scp -F "$T/ssh_config" -J jump -o HostKeyAlias=converge-j1 "$T/payload" me@j1:scp.bin 2>>"$T/err1"
scp -F "$T/ssh_config" -J jump -o HostKeyAlias=converge-j1 me@j1:scp.bin "$T/scp-back.bin" 2>>"$T/err1"
check "scp -J copies both ways byte-exact" test "$(sha "$T/payload")" == "$(sha "$T/scp-back.bin")"

mkdir -p "$T/job-j1/www" && echo "served through the jump" >"$T/job-j1/www/index.html"
HTTP_PORT=$(free_port)
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$T/job-j1/www" >/dev/null 2>&1 &
started $!
LPORT=$(free_port)
jssh -N -L "127.0.0.1:$LPORT:127.0.0.1:$HTTP_PORT" me@j1 &
started $!
wait_until 15 curl -fsS -o /dev/null "http://127.0.0.1:$LPORT/index.html"
expect_eq "ssh -J -L reaches a service in the job" "served through the jump" "$(curl -fsS "http://127.0.0.1:$LPORT/index.html")"

# Refusals a person sees.
ghost=$(ssh -F "$T/ssh_config" -J jump me@ghost-id true 2>&1)
expect_contains "an unknown ID is named in ssh's output" 'no agent registered under ID "ghost-id"' "$ghost"
long=$(printf 'a%.0s' $(seq 65))
invalid=$(ssh -F "$T/ssh_config" -J jump "me@$long" true 2>&1)
expect_contains "a 65-character ID is refused as invalid" "invalid ID" "$invalid"
slash=$(ssh -F "$T/ssh_config" -W 'bad/id:22' jump 2>&1 </dev/null)
expect_contains "an ID with a slash is refused as invalid" "invalid ID" "$slash"
plain=$(ssh -F "$T/ssh_config" jump 2>&1 </dev/null)
rc=$?
expect_contains "a login to the jump host itself explains ssh -J" "ssh  -J HOST:$JPORT USER@ID" "$plain"
expect_eq "... and exits 1" 1 "$rc"
plain=$(ssh -F "$T/ssh_config" jump ls / 2>&1)
rc=$?
expect_contains "a command on the jump host gets the same text" "it has no shell" "$plain"
expect_eq "... and exit status 1" 1 "$rc"
timeout 20 ssh -F "$T/ssh_config" -N -o ExitOnForwardFailure=yes -R 0:127.0.0.1:22 jump 2>"$T/remote.err"
rc=$?
check "remote forwarding (-R) on the jump host is refused" test "$rc" -ne 0 -a "$rc" -ne 124

# One connection, several channels (ControlMaster): each is its own pairing, a refused
# one does not take the others down.
ssh -F "$T/ssh_config" -M -S "$T/cm.sock" -fN jump
wait_until 10 test -S "$T/cm.sock"
viacm() { ssh -F "$T/ssh_config" -o HostKeyAlias=converge-j1 -o ProxyCommand="ssh -F $T/ssh_config -S $T/cm.sock -W %h:%p jump" "$@"; }
viacm me@j1 'sleep 1; echo first' >"$T/cm1.out" 2>&1 &
first=$!
viacm me@j1 'echo second' >"$T/cm2.out" 2>&1
wait $first
expect_eq "a second channel opened while the first pairs" "second" "$(cat "$T/cm2.out")"
expect_eq "... and the first one completes" "first" "$(cat "$T/cm1.out")"
viacm me@j1 'sleep 3; echo long' >"$T/cm3.out" 2>&1 &
long_session=$!
wait_until 10 bash -c "pgrep -f 'sleep 3; echo long' | grep -q ."
sleep 0.5
viacm me@ghost-id true >/dev/null 2>&1
expect_eq "beside a live channel, an unknown ID refuses only its own channel" "still" "$(viacm me@j1 'echo still' 2>&1)"
wait $long_session
expect_eq "... and the live channel carries on" "long" "$(cat "$T/cm3.out")"
ssh -F "$T/ssh_config" -S "$T/cm.sock" -O exit jump 2>/dev/null

# Two sessions at once; kill -9 one's jump process: the other goes on.
jssh me@j1 'for i in $(seq 1 40); do echo tick $i; sleep 0.25; done' >"$T/a.out" 2>&1 &
a=$!
sleep 0.5
before=$(pgrep -f "converge: jump" | sort)
jssh me@j1 'for i in $(seq 1 40); do echo tick $i; sleep 0.25; done' >"$T/b.out" 2>&1 &
b=$!
wait_until 10 grep -q "tick 2" "$T/b.out"
victim=$(comm -13 <(echo "$before") <(pgrep -f "converge: jump" | sort) | head -1)
check "each jump connection has its own process" test -n "$victim"
kill -9 "$victim" 2>/dev/null
wait $b
wait $a
expect_contains "the other session ran to the end" "tick 40" "$(cat "$T/a.out")"
check "the killed session ended early" bash -c "! grep -q 'tick 40' '$T/b.out'"
check "the server still serves" curl -fsS -o /dev/null "http://$SERVER/metrics"

# Bad input on the jump port: each is closed within bounds, counted and logged; a real
# session carries on meanwhile.
python3 - "$JPORT" <<'PY' >"$T/hostile.out" 2>&1
import socket, sys, time
port = int(sys.argv[1])
# Garbage instead of an SSH banner.
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
s.settimeout(5)
try:
    while s.recv(4096): pass
    print("garbage: closed")
except Exception as e:
    print("garbage: not closed", e)
# Half-open flood from another loopback address: 5 may start, the rest are refused.
flood = []
for _ in range(8):
    c = socket.socket(); c.bind(("127.0.0.2", 0)); c.connect(("127.0.0.1", port)); flood.append(c)
time.sleep(0.5)
refused = 0
for c in flood:
    c.settimeout(0.3)
    try:
        data = c.recv(4096)
        if b"max_jump_startups_per_address" in data: refused += 1
    except socket.timeout:
        pass
print("refused:", refused)
# The rest never finish the handshake: closed at the login grace time (3 s).
start = time.time()
for c in flood:
    c.settimeout(10)
    try:
        while c.recv(4096): pass
    except Exception:
        pass
print("flood closed after %.0f s" % (time.time() - start))
PY
jssh me@j1 'echo alive' >"$T/alive.out" 2>&1
hostile=$(cat "$T/hostile.out")
expect_contains "garbage instead of a banner is closed" "garbage: closed" "$hostile"
expect_contains "half-open connections beyond max_jump_startups_per_address are refused" "refused: 3" "$hostile"
check "the rest are closed at jump_login_grace_time" grep -Eq "flood closed after [2-6] s" "$T/hostile.out"
expect_eq "a real session works meanwhile" "alive" "$(cat "$T/alive.out")"
metrics=$(curl -fsS "http://$SERVER/metrics")
expect_contains "refusals are counted by limit" 'reason="max_jump_startups_per_address"} 3' "$metrics"
expect_contains "late handshakes are counted" 'reason="jump_login_grace_time"}' "$metrics"
expect_contains "bad handshakes are counted" 'reason="bad_ssh_handshake"}' "$metrics"
check "sessions are counted by path" grep -Eq '^converge_sessions_by_path_total\{path="ssh"\} [1-9]' <<<"$metrics"
check "refusals are logged with the limit" grep -q "refused: limit max_jump_startups_per_address (5) reached" "$SERVER_LOG"

# The agent leg carries the person's own SSH: through a tap between agent and server,
# the client's banner shows (inside the frames) and a marker typed in the session never.
TAP_PORT=$(free_port)
python3 "$TOOLS/ws_tap.py" "$TAP_PORT" "$SERVER_PORT" "$T/tap" >"$T/tap.log" 2>&1 &
started $!
wait_until 10 bash -c "echo >/dev/tcp/127.0.0.1/$TAP_PORT"
start_job_agent --key dana --url "ws://127.0.0.1:$TAP_PORT" t1 --timeout 120s
marker="MARKER-$RANDOM-$RANDOM-in-clear"
tap_out=$(ssh -F "$T/ssh_config" -J jump -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null me@t1 "echo $marker" 2>&1)
expect_contains "a session through the tapped agent works" "$marker" "$tap_out"
kill "$AGENT_PID" 2>/dev/null
wait_until 10 bash -c "grep -lq 'SSH-2.0-OpenSSH' '$T'/tap/*.payload"
check "the tap sees the client's own SSH banner on the agent leg" bash -c "grep -lq 'SSH-2.0-OpenSSH' '$T'/tap/*.payload"
check "the marker never crosses the agent leg in clear" bash -c "! grep -q '$marker' '$T'/tap/*.raw '$T'/tap/*.payload"

# A restart keeps the host key: a pinned jump host still checks out.
kill -TERM "$SERVER_PID"
wait_until 35 bash -c "! kill -0 $SERVER_PID"
"$DIST/converge" --listen "$SERVER" --downloads "$DIST" --ssh-listen "127.0.0.1:$JPORT" --ssh-host-key "$JUMP_KEY" >>"$SERVER_LOG.2" 2>&1 &
SERVER_PID=$!
started $SERVER_PID
wait_until 10 curl -fsS -o /dev/null "http://$SERVER/metrics"
expect_contains "after a restart the same key is used" "jump host key $fingerprint from" "$(cat "$SERVER_LOG.2")"
wait_until 15 bash -c "grep -q 'id=j1 offered' '$SERVER_LOG.2'"
expect_eq "the pinned jump host checks out after the restart" "back" "$(jssh me@j1 'echo back' 2>&1)"
finish
