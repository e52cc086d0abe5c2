#!/usr/bin/env bash
# A silent network cut between the agent and the server (no FIN, no RST: the agent's end
# of a veth pair goes down inside its network namespace). With short keepalives on both
# sides (ping 1 s, dead peer after 4 s), both ends notice within the dead-peer time and
# clean up: under an idle offered connection the server forgets the offer and the agent
# gives it up; under open sessions (one quiet, one printing) the agent's session processes
# end with their shells and the server's workers end, and the clients are told. The server
# keeps serving an agent outside the namespace meanwhile, and the cut-off agent registers
# again within 10 s of the link's return.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/lifecycle.sh"
source "$TOOLS/faults.sh"

# The namespace, the veth pair and a /30 of 10.200.0.0/13 are named after this script's pid.
NS=cvg$$ VETH_HOST=cvh$$ VETH_NS=cvn$$
NET=10.$((200 + $$ % 8)).$((($$ / 8) % 256)).$((($$ / 2048) % 64 * 4))
HOST_IP=${NET%.*}.$((${NET##*.} + 1)) NS_IP=${NET%.*}.$((${NET##*.} + 2))
net_down() { ip netns del "$NS"; ip link del "$VETH_HOST"; } 2>/dev/null
trap '[ "$BASHPID" -ne $$ ] || { kill_marked; cleanup; net_down; }' EXIT
if ip -4 addr show | grep -qE "inet (${HOST_IP//./\\.}|${NS_IP//./\\.})/"; then
  fail "$HOST_IP or $NS_IP is already in use here"; finish
fi
ip netns add "$NS" && ip link add "$VETH_HOST" type veth peer name "$VETH_NS" && ip link set "$VETH_NS" netns "$NS" \
  && ip addr add "$HOST_IP/30" dev "$VETH_HOST" && ip link set "$VETH_HOST" up \
  && ip netns exec "$NS" ip addr add "$NS_IP/30" dev "$VETH_NS" && ip netns exec "$NS" ip link set "$VETH_NS" up \
  || { fail "a network namespace joined by a veth pair ($HOST_IP - $NS_IP)"; finish; }
cut() { ip netns exec "$NS" ip link set "$VETH_NS" down; }
mend() { ip netns exec "$NS" ip link set "$VETH_NS" up; }

SERVER_HOST=$HOST_IP start_server --ping-interval 1s --dead-peer-timeout 4s || exit 1
start_job_agent --key nia --netns "$NS" nc --keepalive 1s --dead-peer-timeout 4s --timeout 120s
CUT_AGENT=$AGENT_PID CUT_LOG=$AGENT_LOG
start_job_agent --key nia nh --timeout 120s
HOME_AGENT=$AGENT_PID
wait_until 10 metric_is converge_agents_waiting 2 || fail "both agents wait"
expect_eq "a session through the veth works" "$NS_IP" "$(job_ssh nc me@localhost "ip -4 -o addr show $VETH_NS | awk '{print \$4}' | cut -d/ -f1")"
lost() { grep -c 'lost the offered connection' "$CUT_LOG"; }
lost_more() { [ "$(lost)" -gt "$lost_before" ]; }

echo "1. the link goes silent under an idle offered connection"
lost_before=$(lost)
cut; t0=$(now)
wait_until 15 metric_is converge_agents_waiting 1; took=$(elapsed "$t0")
check "the server forgets the offer within the dead-peer time, 4 s (+3 s) (took ${took}s)" within 2 7 "$took"
check "it logs why" grep -q "agent id=nc silent for 4s, dropped (limit: dead_peer_timeout)" "$SERVER_LOG"
check "and counts it" metric_is 'converge_connections_refused_total{reason="dead_peer_timeout"}' 1
wait_until 15 lost_more; took=$(elapsed "$t0")
check "the agent gives up its offered connection within 4 s (+3 s) (took ${took}s)" within 2 7 "$took"
expect_eq "meanwhile the other agent still serves" "during" "$(job_ssh nh me@localhost 'echo during')"
mend; t0=$(now)
wait_until 15 metric_is converge_agents_waiting 2; took=$(elapsed "$t0")
check "the agent registers again within 10 s of the link's return (took ${took}s)" within 0 10 "$took"

echo "2. the link goes silent under open sessions, one quiet and one printing"
begin quiet "$CUT_AGENT" bg_ssh nc "sleep ${MARK}1"
quiet=$CLIENT quiet_worker=$WORKER victims=$(tree "$SESSION")
begin chatty "$CUT_AGENT" bg_ssh nc 'for i in $(seq 1 1200); do echo tick $i; sleep 0.05; done'
wait_until 10 marked 1 || fail "the quiet command runs"
wait_until 10 grep -q '^tick 5$' "$T/chatty.out" || fail "the printing command runs"
victims="$victims $(tree "$SESSION")"
cut; t0=$(now)
gone_within 15 $victims; took=$(elapsed "$t0")
check "the agent's session processes, relays, shells and commands end within 4 s (+3 s), no zombie (took ${took}s)" within 2 7 "$took"
check "nothing of the quiet command is left anywhere" test -z "$(marked 1)"
gone_within 15 "$quiet_worker" "$WORKER"; took=$(elapsed "$t0")
check "the server's workers for them end within 4 s (+3 s) (took ${took}s)" within 2 7 "$took"
exited_within 10 "$quiet"
check "the quiet session's ssh is told: exit $STATUS" test "$STATUS" -ne 0 -a "$STATUS" -ne 124
exited_within 10 "$CLIENT"
check "the printing session's ssh is told: exit $STATUS" test "$STATUS" -ne 0 -a "$STATUS" -ne 124
expect_eq "meanwhile the other agent still serves" "during" "$(job_ssh nh me@localhost 'echo during')"
mend; t0=$(now)
wait_until 15 metric_is converge_agents_waiting 2; took=$(elapsed "$t0")
check "the agent registers again within 10 s of the link's return (took ${took}s)" within 0 10 "$took"
expect_eq "a new session through the veth works" "back" "$(job_ssh nc me@localhost 'echo back')"
check "the cut-off agent has no child left (no session process, no orphan, no zombie)" wait_until 10 no_children "$CUT_AGENT"
wait_until 10 metric_is converge_sessions_active 0
expect_eq "the server has no session left" 0 "$(metric converge_sessions_active)"
check "both agents still run" kill -0 "$CUT_AGENT" "$HOME_AGENT"
finish
