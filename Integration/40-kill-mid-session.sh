#!/usr/bin/env bash
# kill -9 in the middle of real sessions (the real agent, OpenSSH ssh and sftp): of a
# splice worker, of the agent's session process (during an sftp download and during a
# command), and of the client (the ssh under an uploading sftp; a downloading sftp).
# Each time that one session ends everywhere: the client reports it, its worker, session
# process, relay, shell, command and sftp child are gone (no zombie, nothing escaped to
# init), while a shell and an sftp download running meanwhile finish intact, a new session
# starts, and the agent's and server's descriptors are back where they were.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/lifecycle.sh"
source "$TOOLS/faults.sh"
trap 'kill_marked; cleanup' EXIT
start_server || exit 1
start_job_agent --key kim k9 --timeout 120s
# 16 MiB take about 32 s at `sftp -l 4096` (4096 kbit/s): transfers are still running when killed.
head -c 16777216 /dev/urandom >"$AGENT_DIR/big"
head -c 16777216 /dev/urandom >"$T/up"
# Clients run in the background with exec, so that $! is the sftp process itself.
bg_sftp() { exec sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/k9" -l 4096 -b "$1" me@localhost; }
for n in survivor b1 c2; do echo "get big $T/big.$n" >"$T/get-$n"; done
echo "put $T/up up.c1" >"$T/put-c1"
survivors_run() { kill -0 "$TICKER" "$DOWNLOAD" 2>/dev/null; }

wait_until 10 metric_is converge_agents_waiting 1
agent_fds=$(fd_count "$AGENT_PID"); server_fds=$(fd_count "$SERVER_PID")

echo "survivors: a shell printing 150 ticks and an sftp download, through all the kills"
begin ticker "$AGENT_PID" bg_ssh k9 'for i in $(seq 1 150); do echo tick $i; sleep 0.2; done'
TICKER=$CLIENT
begin download "$AGENT_PID" bg_sftp "$T/get-survivor"
DOWNLOAD=$CLIENT

echo "1. kill -9 of a splice worker"
begin a "$AGENT_PID" bg_ssh k9 "sleep ${MARK}1; echo finished"
wait_until 10 marked 1 || fail "the command runs"
victims=$(tree "$SESSION")
kill -KILL "$WORKER"
exited_within 10 "$CLIENT"
check "ssh reports the lost session: exit $STATUS within 10 s (took ${TOOK}s)" test "$STATUS" -ne 0 -a "$STATUS" -ne 124
gone_within 10 $victims
check "the agent's session process, relay and command end, no zombie (took ${TOOK}s)" test $? -eq 0
check "nothing of the command is left anywhere" test -z "$(marked 1)"
check "the server logs the killed worker" grep -q "worker ended without a report" "$SERVER_LOG"
check "the concurrent shell and download are still running" survivors_run

echo "2. kill -9 of the agent's session process: during an sftp download, and during a command"
begin b1 "$AGENT_PID" bg_sftp "$T/get-b1"
b1=$CLIENT b1_session=$SESSION b1_worker=$WORKER
wait_until 15 test -s "$T/big.b1" || fail "the download starts"
begin b2 "$AGENT_PID" bg_ssh k9 "bash -c 'sleep ${MARK}2; true'"
wait_until 10 marked 2 || fail "the command runs"
check "the download's session process has an sftp child besides its relay" test "$(children "$b1_session" | wc -l)" -ge 2
victims=$(tree "$b1_session" "$SESSION")
kill -KILL "$b1_session" "$SESSION"
gone_within 10 $victims
check "their relays, sftp child, shell and command end, no zombie (took ${TOOK}s)" test $? -eq 0
check "nothing of the command is left anywhere (not even reparented to init)" test -z "$(marked 2)"
gone_within 10 "$b1_worker" "$WORKER"
check "the server's workers for both end (took ${TOOK}s)" test $? -eq 0
exited_within 10 "$b1"
check "the interrupted sftp download reports failure: exit $STATUS (took ${TOOK}s)" test "$STATUS" -ne 0 -a "$STATUS" -ne 124
check "and its file is short of the original" test "$(stat -c %s "$T/big.b1")" -lt 16777216
exited_within 10 "$CLIENT"
check "the interrupted command's ssh reports failure: exit $STATUS" test "$STATUS" -ne 0 -a "$STATUS" -ne 124
check "the concurrent shell and download are still running" survivors_run

echo "3. kill -9 of the client mid-transfer: the ssh under an uploading sftp, a downloading sftp"
begin c1 "$AGENT_PID" bg_sftp "$T/put-c1"
wait_until 15 test -s "$AGENT_DIR/up.c1" || fail "the upload starts"
transport=$(children "$CLIENT" '^(/usr/bin/)?ssh ')
proxy=$(children "$transport")
victims=$(tree "$SESSION")
kill -KILL "$transport"
exited_within 10 "$CLIENT"
check "sftp reports the lost upload: exit $STATUS (took ${TOOK}s)" test "$STATUS" -ne 0 -a "$STATUS" -ne 124
gone_within 10 $proxy
check "its wsproxy ends (took ${TOOK}s)" test $? -eq 0
gone_within 10 $victims "$WORKER"
check "the worker, the session process and its sftp child end, no zombie (took ${TOOK}s)" test $? -eq 0
check "the partial upload is short of the original" test "$(stat -c %s "$AGENT_DIR/up.c1")" -lt 16777216

begin c2 "$AGENT_PID" bg_sftp "$T/get-c2"
wait_until 15 test -s "$T/big.c2" || fail "the download starts"
transport=$(children "$CLIENT" '^(/usr/bin/)?ssh ')
victims=$(tree "$SESSION")
client_side=$(tree "$transport")
kill -KILL "$CLIENT"
wait "$CLIENT" 2>/dev/null
gone_within 10 $client_side
check "the killed sftp's ssh and wsproxy end (took ${TOOK}s)" test $? -eq 0
gone_within 10 $victims "$WORKER"
check "the worker, the session process and its sftp child end, no zombie (took ${TOOK}s)" test $? -eq 0
check "the concurrent shell and download are still running" survivors_run

echo "4. the survivors, and what is left"
exited_within 60 "$TICKER"
expect_eq "the concurrent shell exits 0" 0 "$STATUS"
expect_eq "it printed all 150 ticks" 150 "$(grep -c '^tick ' "$T/ticker.out")"
exited_within 60 "$DOWNLOAD"
expect_eq "the concurrent sftp download exits 0" 0 "$STATUS"
expect_eq "and is byte-exact" "$(sha "$AGENT_DIR/big")" "$(sha "$T/big.survivor")"
expect_eq "a new session works" "after" "$(job_ssh k9 me@localhost 'echo after')"
check "the agent has no child left (no session process, no orphan, no zombie)" wait_until 10 no_children "$AGENT_PID"
wait_until 10 metric_is converge_sessions_active 0
expect_eq "the server has no session left" 0 "$(metric converge_sessions_active)"
expect_eq "the server has no session worker left" "" "$(children "$SERVER_PID" '^converge: session ')"
expect_eq "the server's children: its one spare worker, no zombie" "1 0" "$(children "$SERVER_PID" | wc -l) $(zombies_under "$SERVER_PID")"
check "the agent is still running" kill -0 "$AGENT_PID" || tail -5 "$AGENT_LOG"
wait_until 10 fds_are "$AGENT_PID" "$agent_fds"
expect_eq "the agent's descriptors are back to what it held before" "$agent_fds" "$(fd_count "$AGENT_PID")"
wait_until 10 fds_are "$SERVER_PID" "$server_fds"
expect_eq "the server's descriptors are back to what it held before" "$server_fds" "$(fd_count "$SERVER_PID")"
finish
