#!/usr/bin/env bash
# Three converge servers behind one nginx, routed as deploy/nginx-cluster.conf does: a
# consistent hash of the ID in /agent/ID and /client/ID. Agents spread over the backends
# and every client reaches its own agent. Killing one backend affects only its agents:
# the others keep working, and the dead backend's agents re-register (with backoff),
# land on a live backend and are reachable again within a bounded time. nginx cannot see
# the ID inside SSH, so a jump host (here on backend 0) opens its client legs through the
# cluster's front (--jump-upstream): ssh -J reaches agents on every backend.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/tls_fixture.sh"
command -v nginx >/dev/null || { fail "nginx is installed (make test-deps)"; finish; }

declare -a BPORT BPID
NP=$(free_port)
JP=$(free_port)
for b in 0 1 2; do
  BPORT[$b]=$(free_port)
  jump=()
  [ $b == 0 ] && jump=(--ssh-listen "127.0.0.1:$JP" --ssh-host-key "$T/jump_key" --jump-upstream "ws://127.0.0.1:$NP")
  "$DIST/converge" --listen "127.0.0.1:${BPORT[$b]}" --downloads "$DIST" --trusted-proxy 127.0.0.1 "${jump[@]}" >>"$T/backend-$b.log" 2>&1 &
  BPID[$b]=$!
  started ${BPID[$b]}
  disown ${BPID[$b]}   # killed on purpose below: no job-status noise
done
for b in 0 1 2; do
  wait_until 10 curl -fsS -o /dev/null "http://127.0.0.1:${BPORT[$b]}/metrics" || { fail "backend $b starts"; finish; }
done
# The shipped cluster config, minus TLS and the port-80 redirect, on test ports.
conf=$(awk '
  /^server [{]$/ { servers++ }
  servers == 1 { if ($0 ~ /^}$/) servers++; next }
  { print }' "$ROOT/deploy/nginx-cluster.conf" |
  sed -e "s/127\.0\.0\.1:8001/127.0.0.1:${BPORT[0]}/; s/127\.0\.0\.1:8002/127.0.0.1:${BPORT[1]}/; s/127\.0\.0\.1:8003/127.0.0.1:${BPORT[2]}/" \
      -e "s/^\( *\)listen 443 ssl;/\1listen 127.0.0.1:$NP;/" -e '/listen \[::\]:443/d' -e '/^ *ssl_/d')
start_nginx "$conf" || { fail "nginx starts with deploy/nginx-cluster.conf"; finish; }
wait_until 10 curl -fsS -o /dev/null "http://127.0.0.1:$NP/docs" || { fail "nginx answers"; finish; }
SERVER=127.0.0.1:$NP
check "the test config keeps the shipped consistent hash on the ID" grep -q 'hash $converge_id consistent' "$T/nginx/nginx.conf"

IDS=(job-1 job-2 job-3 job-4 job-5 job-6 job-7 job-8 job-9)
declare -A APID
echo "nine agents through nginx"
for id in "${IDS[@]}"; do
  start_job_agent --key alice "$id" --timeout 300s
  APID[$id]=$AGENT_PID
done
ready=0
for id in "${IDS[@]}"; do grep -q "agent ready: ID $id" "$T/agent-$id.log" && ready=$((ready + 1)); done
expect_eq "all nine agents registered through nginx" 9 "$ready"

# backend_of ID: the backend whose log last saw the ID offer a connection.
backend_of() {
  local b best="" bestline=0
  for b in 0 1 2; do
    grep -q "agent id=$1 offered" "$T/backend-$b.log" && best=$b
  done
  echo "$best"
}
waiting() { curl -fsS "http://127.0.0.1:${BPORT[$1]}/metrics" | awk '$1 == "converge_agents_waiting" { print $2 }'; }
used=0
for b in 0 1 2; do
  n=$(waiting $b)
  echo "    backend $b (port ${BPORT[$b]}): converge_agents_waiting $n"
  [ "${n:-0}" -gt 0 ] && used=$((used + 1))
done
check "agents are spread over more than one backend ($used of 3 hold agents)" test "$used" -ge 2
declare -A HOME_OF
for id in "${IDS[@]}"; do HOME_OF[$id]=$(backend_of "$id"); done
dup=0
for id in "${IDS[@]}"; do
  n=0; for b in 0 1 2; do grep -q "agent id=$id offered" "$T/backend-$b.log" && n=$((n + 1)); done
  [ $n -eq 1 ] || dup=$((dup + 1))
done
expect_eq "each ID lives on exactly one backend" 0 "$dup"

reach_all() {
  local ok=0 id out
  for id in "${IDS[@]}"; do
    out=$(timeout 30 ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$id" me@localhost "echo \$PWD" 2>/dev/null)
    [ "$out" == "$T/job-$id" ] && ok=$((ok + 1))
  done
  echo $ok
}
expect_eq "every client reaches its own agent (ssh echo of the job's directory)" 9 "$(reach_all)"
# The jump hop takes its options from a config file (-o applies to the destination only).
printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n  IdentityFile %s\n' "$CLIENT_KEY" >"$T/ssh_config"
jumped=0
for id in "${IDS[@]}"; do
  out=$(timeout 30 ssh -F "$T/ssh_config" -J "127.0.0.1:$JP" me@"$id" "echo \$PWD" 2>/dev/null)
  [ "$out" == "$T/job-$id" ] && jumped=$((jumped + 1))
done
expect_eq "ssh -J through backend 0 reaches agents on every backend (legs through nginx)" 9 "$jumped"
ssh_paths=0
for b in 0 1 2; do grep -q "path ssh" "$T/backend-$b.log" && ssh_paths=$((ssh_paths + 1)); done
check "the backends label those sessions ssh ($ssh_paths backends)" test "$ssh_paths" -ge 2

echo "one backend dies"
# The backend holding the most agents.
victim=0; most=0
for b in 0 1 2; do
  n=0; for id in "${IDS[@]}"; do [ "${HOME_OF[$id]}" == "$b" ] && n=$((n + 1)); done
  [ $n -gt $most ] && { most=$n; victim=$b; }
done
echo "    killing backend $victim (port ${BPORT[$victim]}), home of $most agents"
kill -KILL "${BPID[$victim]}"
pkill -KILL -P "${BPID[$victim]}" 2>/dev/null
sleep 0.2
ok=0; others=0
for id in "${IDS[@]}"; do
  [ "${HOME_OF[$id]}" == "$victim" ] && continue
  others=$((others + 1))
  out=$(timeout 30 ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$id" me@localhost "echo still-here" 2>/dev/null)
  [ "$out" == "still-here" ] && ok=$((ok + 1))
done
expect_eq "agents on the live backends are unaffected ($others of them)" "$others" "$ok"
started_at=$(date +%s)
moved=0
for id in "${IDS[@]}"; do
  [ "${HOME_OF[$id]}" == "$victim" ] || continue
  if wait_until 60 bash -c "for b in 0 1 2; do [ \$b == $victim ] && continue; grep -q 'agent id=$id offered' '$T/backend-'\$b'.log' && exit 0; done; exit 1"; then
    moved=$((moved + 1))
  fi
done
elapsed=$(( $(date +%s) - started_at ))
expect_eq "the dead backend's agents re-registered on a live backend (in ${elapsed}s)" "$most" "$moved"
check "within the bound of 60 s" test "$elapsed" -le 60
alive=0
for id in "${IDS[@]}"; do kill -0 "${APID[$id]}" 2>/dev/null && alive=$((alive + 1)); done
expect_eq "no agent gave up" 9 "$alive"
expect_eq "every client reaches its agent again" 9 "$(reach_all)"
total=0
for b in 0 1 2; do [ $b == $victim ] && continue; total=$((total + $(waiting $b))); done
expect_eq "the live backends now hold all nine agents" 9 "$total"

echo "the backend comes back"
"$DIST/converge" --listen "127.0.0.1:${BPORT[$victim]}" --downloads "$DIST" --trusted-proxy 127.0.0.1 >>"$T/backend-$victim-again.log" 2>&1 &
started $!
wait_until 10 curl -fsS -o /dev/null "http://127.0.0.1:${BPORT[$victim]}/metrics" || fail "backend $victim restarts"
sleep 11   # past fail_timeout: nginx hashes the moved IDs to the restarted backend again
expect_eq "clients still reach every agent (a 404 on the restarted backend falls through to the next)" 9 "$(reach_all)"
refused=$(curl -fsS "http://127.0.0.1:${BPORT[$victim]}/metrics" | awk '/no_such_agent/ { n += $2 } END { print n + 0 }')
check "the restarted backend was asked for moved IDs and said 404 ($refused no_such_agent)" test "$refused" -gt 0
finish
