# A CI job's root for the agent-in-a-foreign-root scripts (30, 31): source after lib.sh.
# The job runs in its own mount and PID namespace; NS_PID is that namespace's first process.

NS_PID=""
# The server's name in the job's /etc/hosts.
HOST=converge.test
# Directories (with a trailing /) under which the job's mounts live; stop_root undoes them.
ROOT_MOUNT_PREFIXES=("$T/")

# stop_root: ends the namespace (every process in it; its mounts go with it), then makes
# sure nothing under ROOT_MOUNT_PREFIXES is still mounted on the host before $T is removed.
stop_root() {
  [ -n "$NS_PID" ] && { kill -KILL "$NS_PID"; wait "$NS_PID"; } 2>/dev/null
  NS_PID=""
  local m prefixes
  prefixes=$(IFS='|'; echo "${ROOT_MOUNT_PREFIXES[*]}")
  for m in $(awk -v p="$prefixes" 'BEGIN { n = split(p, ps, "|") }
      { for (i = 1; i <= n; i++) if (index($5, ps[i]) == 1) { print $5; next } }' /proc/self/mountinfo | sort -r); do
    umount -l "$m"
  done
}
trap 'stop_root; cleanup' EXIT

# mounts_left: how many mounts under ROOT_MOUNT_PREFIXES the host still sees.
mounts_left() {
  local prefix count=0
  for prefix in "${ROOT_MOUNT_PREFIXES[@]}"; do
    count=$((count + $(grep -cF " $prefix" /proc/self/mountinfo)))
  done
  echo "$count"
}

# wait_for_job_agent WHERE: the agent started by the job in NS_PID says it is ready.
wait_for_job_agent() {
  wait_until 30 bash -c "grep -q 'agent ready' '$AGENT_LOG' || ! kill -0 $NS_PID"
  grep -q 'agent ready' "$AGENT_LOG" || { fail "the agent starts in $1"; cat "$AGENT_LOG"; finish; }
  pass "the job wgets the agent by host name ($HOST, from /etc/hosts) and it starts"
}

# prepare_job KEY ID JOB HOSTS: what the CI job ID finds (start_server first): in its
# directory JOB, KEY's key authorized (CLIENT_KEY from now on), .hold (several logins one
# after another: the agent stays up) and ci.sh, the script it runs: wget the agent from the
# server by the name $HOST, then start it under ID; HOSTS, its /etc/hosts, names the server.
# Sets AGENT_LOG for the job's output.
prepare_job() {
  local key=$1 id=$2 job=$3 hosts=$4
  make_client_key "$key"
  CLIENT_KEY=$T/$key
  mkdir -p "$job"
  cp "$T/$key.pub" "$job/.authorized_keys"
  touch "$job/.hold"
  cat >"$job/ci.sh" <<JOB
cd /job
wget -q -O agent http://$HOST:$SERVER_PORT/docs/agent || { echo "wget failed"; exit 1; }
chmod 755 agent
echo "downloaded the agent"
exec ./agent --id $id --timeout 120s ws://$HOST:$SERVER_PORT
JOB
  printf '127.0.0.1\tlocalhost\n127.0.0.1\t%s\n' "$HOST" >"$hosts"
  AGENT_LOG=$T/agent-$id.log
}
