#!/usr/bin/env bash
# --github-user NAME and --gitlab-user NAME: shorthands for the account's keys URL
# (BASE/NAME.keys), fetched at start like --authorized-keys-url. A local HTTPS stand-in
# plays GitHub and GitLab through --github-url / --gitlab-url, the flags that also point
# the agent at a GitHub Enterprise Server or a self-hosted GitLab.
source "$(dirname "$0")/lib.sh"
source "$TOOLS/tls_fixture.sh"
unset no_proxy NO_PROXY http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
make_test_ca || { fail "openssl makes a test CA"; finish; }
start_server || exit 1
for name in octocat tanuki stranger; do make_client_key "$name"; done
mkdir -p "$T/www/gh" "$T/www/gl"
cp "$T/octocat.pub" "$T/www/gh/octocat.keys"
cp "$T/tanuki.pub" "$T/www/gl/tanuki.keys"
KP=$(free_port)
python3 -u "$TOOLS/https_static.py" "$KP" "$T/www" "$T/tls/server.pem" "$T/tls/server.key" >"$T/keys-server.log" 2>&1 &
started $!
wait_until 10 curl -fsS -o /dev/null --cacert "$CA" "https://127.0.0.1:$KP/gh/octocat.keys" || { fail "the HTTPS stand-in starts"; finish; }
as() { local who=$1; shift; ssh "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/$who" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/g1" me@localhost "$@"; }

start_job_agent g1 --cacert "$CA" --timeout 120s --github-url "https://127.0.0.1:$KP/gh" --github-user octocat \
  --gitlab-url "https://127.0.0.1:$KP/gl/" --gitlab-user tanuki
expect_contains "the GitHub user's keys URL is BASE/NAME.keys" "https://127.0.0.1:$KP/gh/octocat.keys: line 1: accepting" "$(cat "$AGENT_LOG")"
expect_contains "the GitLab user's keys URL is BASE/NAME.keys (trailing slash or not)" "https://127.0.0.1:$KP/gl/tanuki.keys: line 1: accepting" "$(cat "$AGENT_LOG")"
expect_eq "the GitHub user logs in" "hi octocat" "$(as octocat 'echo hi octocat')"
expect_eq "the GitLab user logs in" "hi tanuki" "$(as tanuki 'echo hi tanuki')"
as stranger true 2>/dev/null
expect_eq "someone else is refused" 255 "$?"
check "the stand-in served both accounts" grep -q 'GET /gh/octocat.keys' "$T/keys-server.log"

run_agent() {  # run_agent ID ARGS...: sets RC and OUT
  local id=$1; shift
  mkdir -p "$T/job-$id"
  OUT=$(cd "$T/job-$id" && timeout 40 "$DIST/agent" --id "$id" --timeout 60s "$@" "ws://$SERVER" 2>&1)
  RC=$?
}
run_agent g2 --cacert "$CA" --github-url "https://127.0.0.1:$KP/gh" --github-user nobody
expect_eq "an account the service does not know: exit 2" 2 "$RC"
expect_contains "the line names the flag and the account" "--github-user nobody: cannot fetch keys" "$OUT"
run_agent g3 --github-user ../../etc/passwd
expect_eq "a name that is not an account name: exit 2" 2 "$RC"
expect_contains "the line says so" 'is not an account name' "$OUT"
expect_contains "--help shows GitHub's default address" "https://github.com" "$("$DIST/agent" --help 2>&1)"
expect_contains "--help shows --gitlab-url" "--gitlab-url" "$("$DIST/agent" --help 2>&1)"
finish
