#!/usr/bin/env bash
# The pipe, proven with real OpenSSH: ssh, sftp and scp through wsproxy and tcptows,
# over converge, to a stand-in agent bridging to a local sshd.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
start_sshd || { fail "sshd starts"; finish; }
start_standin_agent job-1 || { fail "the stand-in agent registers"; cat "$T"/standin-*.log; finish; }
USER_NAME=$(id -un)
PROXY="$DIST/wsproxy ws://$SERVER/client/job-1"

echo "ssh through wsproxy"
out=$(ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$PROXY" "$USER_NAME@localhost" 'echo hello from $(hostname); exit 7')
rc=$?
expect_contains "a command's output comes back" "hello from" "$out"
expect_eq "a command's exit status comes back" 7 "$rc"
head -c 3000000 /dev/urandom >"$T/blob"
ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$PROXY" "$USER_NAME@localhost" "cat $T/blob" >"$T/blob.back"
check "3 MB of binary stdout is byte-exact" cmp -s "$T/blob" "$T/blob.back"

echo "sftp through wsproxy"
head -c 20000000 /dev/urandom >"$T/up.bin"
mkdir -p "$T/remote"
cat >"$T/batch" <<BATCH
put $T/up.bin $T/remote/up.bin
get $T/remote/up.bin $T/down.bin
BATCH
check "sftp put and get of 20 MB run" sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$PROXY" -b "$T/batch" "$USER_NAME@localhost" >/dev/null
sum() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
expect_eq "sftp put is byte-exact (sha256)" "$(sum "$T/up.bin")" "$(sum "$T/remote/up.bin")"
expect_eq "sftp get is byte-exact (sha256)" "$(sum "$T/up.bin")" "$(sum "$T/down.bin")"

echo "tcptows with two concurrent connections"
TPORT=$(free_port)
"$DIST/tcptows" --listen "127.0.0.1:$TPORT" "ws://$SERVER/client/job-1" >"$T/tcptows.log" 2>&1 &
started $!
wait_until 10 bash -c "echo > /dev/tcp/127.0.0.1/$TPORT" || fail "tcptows listens"
ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -p "$TPORT" "$USER_NAME@localhost" 'sleep 2; echo first' >"$T/c1" 2>&1 &
c1=$!
ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -p "$TPORT" "$USER_NAME@localhost" 'sleep 2; echo second' >"$T/c2" 2>&1 &
c2=$!
wait $c1; rc1=$?
wait $c2; rc2=$?
# The last line: the test sshd runs root's own shell start-up files, which may chatter.
expect_eq "first concurrent ssh through tcptows" "0 first" "$rc1 $(tail -1 "$T/c1")"
expect_eq "second concurrent ssh through tcptows" "0 second" "$rc2 $(tail -1 "$T/c2")"
cat >"$T/batch2" <<BATCH
put $T/up.bin $T/remote/up2.bin
get $T/remote/up2.bin $T/down2.bin
BATCH
check "sftp through tcptows runs" sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -oPort="$TPORT" -b "$T/batch2" "$USER_NAME@localhost" >/dev/null
expect_eq "sftp through tcptows is byte-exact" "$(sum "$T/up.bin")" "$(sum "$T/down2.bin")"

echo "the server accounts for it"
sessions=$(metric converge_sessions_total)
[ "${sessions:-0}" -ge 6 ] && pass "sessions counted in /metrics ($sessions)" || fail "sessions counted in /metrics (got '${sessions}')"
bytes=$(metric 'converge_bytes_relayed_total{direction="agent_to_client"}')
[ "${bytes:-0}" -ge 40000000 ] && pass "bytes relayed counted in /metrics ($bytes)" || fail "bytes relayed counted in /metrics (got '${bytes}')"
check "session ends are logged with bytes each way" grep -q "session id=job-1 ended after .*client→agent [0-9]* bytes, agent→client [0-9]* bytes" "$SERVER_LOG"
finish
