#!/usr/bin/env bash
# A jump client that stops answering (its laptop slept, its network is gone) does not keep
# a jump process forever: the jump host sends keepalives after --ping-interval of quiet and
# ends the connection after --dead-peer-timeout, logged and counted. A live one, quiet for
# just as long, is kept.
source "$(dirname "$0")/lib.sh"
JPORT=$(free_port)
start_server --ssh-listen "127.0.0.1:$JPORT" --ssh-host-key "$T/jump_key" --ping-interval 1s --dead-peer-timeout 4s || exit 1
printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n' >"$T/ssh_config"

# Two idle connections to the jump host itself (-N: no channel, only the outer SSH).
ssh -F "$T/ssh_config" -N -p "$JPORT" live@127.0.0.1 &
live=$!
started $live
ssh -F "$T/ssh_config" -N -p "$JPORT" frozen@127.0.0.1 &
frozen=$!
started $frozen
wait_until 10 bash -c "grep -c 'logged in as' '$SERVER_LOG' | grep -q 2" || fail "both log in"
expect_eq "two jump processes run" 2 "$(metric converge_jump_connections)"
kill -STOP "$frozen"   # it stops answering; the kernel still holds its TCP connection open
start=$(date +%s)
wait_until 15 bash -c "grep -q 'frozen.*silent for 4s (limit: dead_peer_timeout)' '$SERVER_LOG'"
took=$(( $(date +%s) - start ))
check "the silent client's jump process ended at dead_peer_timeout (after ${took}s)" grep -q 'user "frozen".*silent for 4s (limit: dead_peer_timeout)' "$SERVER_LOG"
check "within the bound (4 s + a keepalive interval)" test "$took" -le 8
wait_until 5 bash -c "curl -fsS 'http://$SERVER/metrics' | grep -q '^converge_jump_connections 1'"
expect_eq "the live one, as quiet, is kept" 1 "$(metric converge_jump_connections)"
check "the live client is still connected" kill -0 "$live"
check "the drop is counted" bash -c "curl -fsS 'http://$SERVER/metrics' | grep -q 'reason=\"dead_peer_timeout\"} 1'"
kill -CONT "$frozen" 2>/dev/null
finish
