#!/usr/bin/env bash
# The GitHub Action (action.yml: ci/github/main.js and post.js on Node, no npm packages)
# and the GitLab CI template (ci/gitlab/converge.yml), run as the runners would: Node
# with a faked runner environment (GITHUB_*, INPUT_*, RUNNER_TEMP), the template's
# after_script with sh; a local server, the real agent it serves, real ssh.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
make_client_key frank
CLIENT_KEY=$T/frank
# The forge's /USER.keys (github.com/USER.keys, gitlab.example.com/USER.keys).
mkdir -p "$T/forge"
cp "$T/frank.pub" "$T/forge/frank.keys"
FORGE_PORT=$(free_port)
(cd "$T/forge" && exec python3 -m http.server --bind 127.0.0.1 "$FORGE_PORT") >"$T/forge.log" 2>&1 &
started $!
wait_until 10 curl -fsS -o /dev/null "http://127.0.0.1:$FORGE_PORT/frank.keys"

# runner STEP [ENV...]: runs the action's entry point STEP (main, post) with Node as the
# runner would, in a fresh environment: the runner's files under $T/runner, inputs as INPUT_*.
mkdir -p "$T/runner/temp"
runner() {
  local step=$1; shift
  env -i PATH="$PATH" HOME="$T/runner" RUNNER_TEMP="$T/runner/temp" GITHUB_ACTOR=frank \
    GITHUB_SERVER_URL="http://127.0.0.1:$FORGE_PORT" GITHUB_STATE="$T/runner/state" \
    GITHUB_STEP_SUMMARY="$T/runner/summary.md" "$@" node "$ROOT/ci/github/$step.js"
}
# post_env: the STATE_* variables the runner gives the post step, from GITHUB_STATE.
# gone PID: the process has ended (a zombie nobody reaped yet has ended too).
gone() { ! kill -0 "$1" 2>/dev/null || [[ "$(ps -o stat= -p "$1")" == Z* ]]; }
post_env() { sed -n 's/^\([A-Za-z_]*\)=\(.*\)$/STATE_\1=\2/p' "$T/runner/state"; }

echo "action.yml"
check "action.yml runs main.js and post.js on the runner's Node" python3 -c '
import sys, yaml
a = yaml.safe_load(open(sys.argv[1]))
r = a["runs"]
assert r["using"].startswith("node") and r["main"] == "ci/github/main.js" and r["post"] == "ci/github/post.js"
for name in ["server", "id", "timeout", "hold", "limit-access-to-actor", "authorized-keys", "detached", "wait-on-success", "server-ca"]:
    assert name in a["inputs"], name
assert a["inputs"]["server"]["required"] is True and a["inputs"]["limit-access-to-actor"]["default"] == "true"
' "$ROOT/action.yml"
check "the action needs no npm package" bash -c "! grep -hE \"require\\('[^.]\" '$ROOT'/ci/github/*.js | grep -vE \"require\\('(fs|http|https|path|child_process)'\\)\""

echo "detached: the job goes on, a person logs in, the post step waits (the job failed)"
T0=$(date +%s)
out=$(runner main INPUT_SERVER="ws://$SERVER" INPUT_ID=gh-1 INPUT_TIMEOUT=60s INPUT_DETACHED=true 2>&1)
expect_eq "the main step exits 0 once the agent is registered" 0 "$?"
expect_contains "the step's log shows the banner" "agent ready: ID gh-1 is registered at ws://$SERVER" "$out"
DIR=$(sed -n 's/^converge_dir=//p' "$T/runner/state" | tail -1)
check "the main step saved the agent's directory for the post step" test -d "$DIR"
BG_PID=$(sed -n 's/^pid //p' "$DIR/.converge-agent" | head -1)
[ -z "$BG_PID" ] || started "$BG_PID"
check "the agent runs in the background" kill -0 "${BG_PID:-0}"
check "the agent was downloaded from the server" cmp -s "$DIST/agent" "$DIR/agent"
check "the actor's key is let in" grep -qF "$(cut -d' ' -f2 "$T/frank.pub")" "$DIR/authorized_keys"
expect_contains "the job summary shows the ID" '- ID: `gh-1`' "$(cat "$T/runner/summary.md")"
expect_eq "a real ssh with the actor's key gets in while the job goes on" "in-gh-1" "$(job_ssh gh-1 me@localhost 'echo in-gh-1')"
out=$(runner post $(post_env) INPUT_JOB-STATUS=failure 2>&1)
expect_eq "the post step exits with the agent's status" 0 "$?"
expect_contains "the post step waited (the job failed)" "waiting for the agent (agent --wait)" "$out"
expect_contains "it reports the agent's end" "the first client logged out" "$out"
check "the background agent is gone" gone "${BG_PID:-0}"
check "it left nothing but what the action wrote" bash -c "! ls -A '$DIR' | grep -q converge-agent"

echo "detached, the job passed: the post step stops the agent"
: >"$T/runner/state"
out=$(runner main INPUT_SERVER="ws://$SERVER" INPUT_ID=gh-2 INPUT_TIMEOUT=60s INPUT_DETACHED=true 2>&1)
expect_eq "the main step exits 0" 0 "$?"
DIR=$(sed -n 's/^converge_dir=//p' "$T/runner/state" | tail -1)
BG_PID=$(sed -n 's/^pid //p' "$DIR/.converge-agent" 2>/dev/null | head -1)
[ -z "$BG_PID" ] || started "$BG_PID"
T0=$(date +%s)
out=$(runner post $(post_env) INPUT_JOB-STATUS=success 2>&1)
expect_eq "the post step exits 0" 0 "$?"
expect_contains "it stopped the agent" "stopping the agent (agent --stop)" "$out"
check "at once (within 10 s)" test $(( $(date +%s) - T0 )) -le 10
check "the background agent is gone" gone "${BG_PID:-0}"
out=$(runner post INPUT_JOB-STATUS=failure 2>&1)
expect_eq "a post step without a detached agent does nothing" "0:" "$?:$out"

echo "in the foreground, with keys given as an input"
make_client_key grace
: >"$T/runner/state"
runner main INPUT_SERVER="http://$SERVER" INPUT_ID=gh-3 INPUT_TIMEOUT=60s INPUT_LIMIT-ACCESS-TO-ACTOR=false \
  INPUT_AUTHORIZED-KEYS="$(cat "$T/grace.pub")" >"$T/gh-3.out" 2>&1 &
MAIN_PID=$!
started $MAIN_PID
wait_until 20 grep -q 'agent ready' "$T/gh-3.out"
expect_contains "an http:// server input is dialled as ws://" "agent ready: ID gh-3 is registered at ws://$SERVER" "$(cat "$T/gh-3.out")"
CLIENT_KEY=$T/grace
expect_eq "the key from the input gets in" "in-gh-3" "$(job_ssh gh-3 me@localhost 'echo in-gh-3')"
CLIENT_KEY=$T/frank
job_ssh gh-3 me@localhost true 2>/dev/null
check "the actor's key does not (limit-access-to-actor false)" test $? -ne 0
wait_until 15 bash -c "! kill -0 $MAIN_PID"
wait $MAIN_PID
expect_eq "the main step ends with the agent (0: the client logged out)" 0 "$?"

echo "the action refuses what cannot work"
out=$(runner main INPUT_SERVER="ws://$SERVER" GITHUB_ACTOR=nobody-here 2>&1)
expect_eq "an actor without keys fails the step" 1 "$?"
expect_contains "with an error annotation naming the URL" "::error::converge: cannot fetch the keys of nobody-here" "$out"
out=$(runner main INPUT_SERVER="ftp://x" 2>&1)
expect_eq "a bad server input fails the step" 1 "$?"
expect_contains "it says what is expected" "input server: expected wss://host[:port]" "$out"

echo "server-ca: a server behind TLS with a private CA (nginx as deploy/nginx.conf sets it up)"
source "$TOOLS/tls_fixture.sh"
if command -v nginx >/dev/null && start_tls_nginx; then
  : >"$T/runner/state"
  out=$(runner main INPUT_SERVER="wss://127.0.0.1:$NP" INPUT_ID=gh-tls INPUT_TIMEOUT=3s 2>&1)
  expect_eq "without server-ca the step fails" 1 "$?"
  expect_contains "because the download's certificate is not trusted" "cannot download the agent" "$out"
  runner main INPUT_SERVER="https://127.0.0.1:$NP" INPUT_ID=gh-tls INPUT_TIMEOUT=60s INPUT_SERVER-CA="$(cat "$CA")" >"$T/gh-tls.out" 2>&1 &
  TLS_PID=$!
  started $TLS_PID
  wait_until 20 grep -q 'agent ready' "$T/gh-tls.out"
  expect_contains "with server-ca the agent downloads and registers over wss://" "agent ready: ID gh-tls is registered at wss://127.0.0.1:$NP" "$(cat "$T/gh-tls.out")"
  out=$(ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy --cacert $CA wss://127.0.0.1:$NP/client/gh-tls" me@localhost 'echo over-tls')
  expect_eq "ssh reaches it over wss://" "over-tls" "$out"
  wait_until 15 bash -c "! kill -0 $TLS_PID"
  wait $TLS_PID
  expect_eq "the main step ends with the agent" 0 "$?"
else
  fail "nginx with the test CA starts (make test-deps)"
fi

echo "GitLab CI template: after_script by sh"
python3 -c 'import sys, yaml; print("\n".join(yaml.safe_load(open(sys.argv[1]))[".converge"]["after_script"]))' \
  "$ROOT/ci/gitlab/converge.yml" >"$T/after_script.sh"
check "the template is a hidden job with an after_script" test -s "$T/after_script.sh"
gitlab() {
  (cd "$T/runner" && env -i PATH="$PATH" HOME="$T/runner" TMPDIR="$T/runner/temp" CI_SERVER_URL="http://127.0.0.1:$FORGE_PORT" \
    GITLAB_USER_LOGIN=frank CONVERGE_SERVER="ws://$SERVER" "$@" sh "$T/after_script.sh")
}
out=$(gitlab CI_JOB_STATUS=success 2>&1)
expect_eq "a job that passed: nothing happens" "0:" "$?:$out"
gitlab CI_JOB_STATUS=failed CONVERGE_ID=gl-1 CONVERGE_TIMEOUT=60s >"$T/gl-1.out" 2>&1 &
GL_PID=$!
started $GL_PID
wait_until 20 grep -q 'agent ready' "$T/gl-1.out"
expect_contains "a failed job: the agent registers" "agent ready: ID gl-1 is registered at ws://$SERVER" "$(cat "$T/gl-1.out")"
expect_eq "the user's key gets in" "in-gl-1" "$(job_ssh gl-1 me@localhost 'echo in-gl-1')"
wait_until 15 bash -c "! kill -0 $GL_PID"
wait $GL_PID
expect_eq "after_script ends with the agent" 0 "$?"
out=$(gitlab CI_JOB_STATUS=failed GITLAB_USER_LOGIN=nobody-here 2>&1)
expect_eq "a user without keys: after_script fails" 1 "$?"
expect_contains "it says so" "no public SSH keys for nobody-here" "$out"
finish
