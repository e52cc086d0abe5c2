# Shared helpers for the integration scripts: source it first.
# Every process a script starts is registered and killed on exit, pass or fail.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIST=${DIST:-$ROOT/dist}
TOOLS=$ROOT/Integration/tools
T=$(mktemp -d /tmp/converge-it.XXXXXX)
STARTED_PIDS=()
CHECKS_FAILED=0
CHECKS_PASSED=0

# descendants PID: every process below PID (children first found, recursively).
descendants() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

cleanup() {
  # Only the script itself cleans up: a subshell killed by a signal (a watchdog) may run
  # the EXIT trap too, and must not take the test's processes and files with it.
  [ "$BASHPID" -eq $$ ] || return 0
  local pid all=()
  # Collect whole trees first: once a parent dies its children move to init and are
  # out of reach (a backgrounded function's ssh, an agent's session processes).
  for pid in "${STARTED_PIDS[@]}"; do
    all+=("$pid" $(descendants "$pid"))
  done
  [ ${#all[@]} -gt 0 ] || { [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"; return; }
  kill -TERM "${all[@]}" 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "${all[@]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "${all[@]}" 2>/dev/null
  wait 2>/dev/null
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# started PID: kill PID (and its children) when the script ends.
started() { STARTED_PIDS+=("$1"); }

pass() { CHECKS_PASSED=$((CHECKS_PASSED + 1)); echo "  PASS $*"; }
fail() { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "  FAIL $*"; }

# check DESCRIPTION COMMAND...: passes if the command succeeds.
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1 (expected '$2', got '$3')"; fi
}

# expect_contains DESCRIPTION NEEDLE HAYSTACK
expect_contains() {
  if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1 (no '$2' in: ${3:0:400})"; fi
}

# finish: the script's exit status is the number of failed checks (0 = passed).
finish() {
  echo "  $CHECKS_PASSED checks passed, $CHECKS_FAILED failed"
  [ "$CHECKS_FAILED" -eq 0 ]
  exit $?
}

# free_port: a TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_until SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_until() {
  local limit=$1; shift
  local tries=$((limit * 10))
  while [ $tries -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
    tries=$((tries - 1))
  done
  return 1
}

# start_server [ARGS...]: converge on a free loopback port (or on $SERVER_HOST); sets
# SERVER_PORT, SERVER, SERVER_LOG, SERVER_PID.
start_server() {
  SERVER_PORT=$(free_port)
  SERVER=${SERVER_HOST:-127.0.0.1}:$SERVER_PORT
  SERVER_LOG=$T/server.log
  "$DIST/converge" --listen "$SERVER" --downloads "$DIST" "$@" >>"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  started $SERVER_PID
  wait_until 10 curl -fsS -o /dev/null "http://$SERVER/metrics" || { echo "server did not start:"; cat "$SERVER_LOG"; return 1; }
}

# metric NAME: a value from the server's /metrics (first sample whose line starts with NAME).
metric() {
  curl -fsS "http://$SERVER/metrics" | awk -v m="$1" 'index($0, m) == 1 { print $2; exit }'
}

# start_sshd: an OpenSSH server on a loopback port with its own keys and config.
# Sets SSHD_PORT, CLIENT_KEY (a private key it accepts for the current user).
start_sshd() {
  mkdir -p "$T/sshd/home" /run/sshd
  SSHD_PORT=$(free_port)
  ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/client_key"
  CLIENT_KEY=$T/sshd/client_key
  cp "$T/sshd/client_key.pub" "$T/sshd/authorized_keys"
  chmod 600 "$T/sshd/authorized_keys"
  cat >"$T/sshd/sshd_config" <<CONF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $T/sshd/host_key
AuthorizedKeysFile $T/sshd/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin yes
PidFile none
Subsystem sftp internal-sftp
LogLevel ERROR
# Sessions get a HOME of their own: the machine's ~/.bashrc (pyenv hooks...) stays out.
SetEnv HOME=$T/sshd/home
CONF
  /usr/sbin/sshd -D -e -f "$T/sshd/sshd_config" 2>>"$T/sshd/log" &
  started $!
  wait_until 10 bash -c "echo > /dev/tcp/127.0.0.1/$SSHD_PORT"
}

# Options every ssh/sftp/scp call in the tests uses: no prompts, no known_hosts file.
SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=20)

# start_standin_agent ID: the agent-side stand-in (tools/standin_agent.py) bridging
# sessions for ID to the test sshd.
start_standin_agent() {
  python3 "$TOOLS/standin_agent.py" "ws://$SERVER" "$1" "127.0.0.1:$SSHD_PORT" >>"$T/standin-$1.log" 2>&1 &
  started $!
  wait_until 10 grep -q "offered" "$T/standin-$1.log"
}

# make_client_key NAME: an ed25519 key pair $T/NAME, $T/NAME.pub.
make_client_key() { ssh-keygen -q -t ed25519 -N '' -C "$1@test" -f "$T/$1"; }

# authorize NAME ID: NAME's key ($T/NAME, made on first use) may log in to the job ID: its
# public key is in $T/job-ID/.authorized_keys (once).
authorize() {
  local key=$T/$1 keys=$T/job-$2/.authorized_keys
  [ -f "$key" ] || make_client_key "$1"
  mkdir -p "$T/job-$2"
  grep -qxF "$(cat "$key.pub")" "$keys" 2>/dev/null || cat "$key.pub" >>"$keys"
}

# start_job_agent [OPTIONS] ID [AGENT ARGS...]: a CI job starts the real agent, as its
# user would: in the job's directory $T/job-ID (also its HOME, so that the machine's own
# ~/.bashrc stays out), registered under ID at this test's server. Waits until the agent
# says it is ready; if it does not, fails "the agent ID starts", shows its log and ends
# the script. Sets AGENT_PID, AGENT_LOG ($T/agent-ID.log) and AGENT_DIR.
#   --key NAME  NAME's key is authorized (see authorize) and is CLIENT_KEY from now on
#   --url URL   registers at URL instead (wss://, nginx...)
#   --no-hold   no .hold file: the agent ends at the first logout (default: it outlives it)
#   --netns NS  runs in the network namespace NS
#   --hide DIR  runs in a mount namespace of its own in which DIR is empty
start_job_agent() {
  local key="" url="ws://$SERVER" hold=1 netns="" hide=""
  while [ $# -gt 0 ]; do
    case $1 in
      --key) key=$2; shift 2 ;;
      --url) url=$2; shift 2 ;;
      --no-hold) hold=""; shift ;;
      --netns) netns=$2; shift 2 ;;
      --hide) hide=$2; shift 2 ;;
      *) break ;;
    esac
  done
  local id=$1; shift
  [ -z "$key" ] || { authorize "$key" "$id"; CLIENT_KEY=$T/$key; }
  AGENT_DIR=$T/job-$id
  AGENT_LOG=$T/agent-$id.log
  mkdir -p "$AGENT_DIR"
  [ -z "$hold" ] || touch "$AGENT_DIR/.hold"
  local run=("$DIST/agent")
  if [ -n "$hide" ]; then
    mkdir -p "$T/empty"
    # In sh -c, $0 is the empty directory, $1 the one it covers, the rest the agent's command.
    run=(unshare --mount sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' "$T/empty" "$hide" "${run[@]}")
  fi
  [ -z "$netns" ] || run=(ip netns exec "$netns" "${run[@]}")
  (cd "$AGENT_DIR" && HOME="$AGENT_DIR" exec "${run[@]}" --id "$id" "$@" "$url") >"$AGENT_LOG" 2>&1 &
  AGENT_PID=$!
  started $AGENT_PID
  wait_until 20 bash -c "grep -q 'agent ready' '$AGENT_LOG' || ! kill -0 $AGENT_PID"
  grep -q 'agent ready' "$AGENT_LOG" || { fail "the agent $id starts"; cat "$AGENT_LOG"; finish; }
}

# job_ssh ID [SSH ARGS...]: ssh to the agent under ID through wsproxy with $CLIENT_KEY.
job_ssh() {
  local id=$1; shift
  ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$id" "$@"
}

# sha FILE: its sha256.
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
