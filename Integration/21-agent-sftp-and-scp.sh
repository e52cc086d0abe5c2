#!/usr/bin/env bash
# sftp and scp against the real agent, which serves SFTP itself: the agent runs in a
# mount namespace where OpenSSH's sftp-server is hidden, as on a bare CI image.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
# Held (several logins one after another), in a mount namespace without /usr/lib/openssh.
start_job_agent --key bob --hide /usr/lib/openssh s1 --timeout 120s
hidden=$(job_ssh s1 me@localhost 'ls /usr/lib/openssh/ | wc -l')
expect_eq "OpenSSH's sftp-server is hidden from the agent" 0 "$hidden"

echo "sftp"
head -c 52428800 /dev/urandom >"$T/big"
cat >"$T/batch" <<BATCH
mkdir incoming
put $T/big incoming/big
ls -l incoming
rename incoming/big incoming/big2
get incoming/big2 $T/big.back
rm incoming/big2
rmdir incoming
BATCH
out=$(sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/s1" -b "$T/batch" me@localhost 2>&1)
expect_eq "an sftp batch (mkdir, put, ls, rename, get, rm, rmdir) succeeds" 0 "$?"
expect_eq "sftp put then get of 50 MB is byte-exact (sha256)" "$(sha "$T/big")" "$(sha "$T/big.back")"
expect_contains "sftp ls -l shows a long listing" "-rw" "$out"
check "the sftp rm and rmdir really happened" test ! -e "$AGENT_DIR/incoming"

echo "scp"
scp -q "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/s1" "$T/big" me@localhost:copied.bin
expect_eq "scp upload (sftp protocol) is byte-exact" "$(sha "$T/big")" "$(sha "$AGENT_DIR/copied.bin")"
scp -q "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/s1" me@localhost:copied.bin "$T/copied.back"
expect_eq "scp download (sftp protocol) is byte-exact" "$(sha "$T/big")" "$(sha "$T/copied.back")"
scp -O -q "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/s1" "$T/big" me@localhost:legacy.bin
expect_eq "legacy scp -O upload is byte-exact" "$(sha "$T/big")" "$(sha "$AGENT_DIR/legacy.bin")"
scp -O -q "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/s1" me@localhost:legacy.bin "$T/legacy.back"
expect_eq "legacy scp -O download is byte-exact" "$(sha "$T/big")" "$(sha "$T/legacy.back")"
finish
