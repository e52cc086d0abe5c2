#!/usr/bin/env bash
# A job that brings its own host key (--host-key FILE or CONVERGE_HOST_KEY, e.g. a CI
# secret) keeps one fingerprint across runs, so people keep strict host key checking.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
ssh-keygen -q -t ed25519 -N '' -C pinned -f "$T/pinned_key"
WANT=$(ssh-keygen -lf "$T/pinned_key.pub" | awk '{print $2}')
KNOWN=$T/known_hosts
# Strict checks, one known_hosts file kept across runs, as a person's own ~/.ssh would be.
STRICT=(-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN" -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=20)
strict_ssh() {
  local id=$1; shift
  ssh "${STRICT[@]}" -i "$CLIENT_KEY" -o HostKeyAlias="converge-$id" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$id" "$@"
}

echo "first run: --host-key FILE"
start_job_agent --key dave --no-hold pin --timeout 60s --host-key "$T/pinned_key"
expect_contains "the banner shows the key's fingerprint" "host key: $WANT" "$(cat "$AGENT_LOG")"
check "the log says where the key came from" grep -q "host key from --host-key $T/pinned_key" "$AGENT_LOG"
# The person pins the known_hosts line the banner printed.
sed -n 's/.*known_hosts: \(converge-pin .*\)/\1/p' "$AGENT_LOG" | head -1 >"$KNOWN"
expect_eq "the known_hosts line is the key's public half" "converge-pin $(cut -d' ' -f1,2 "$T/pinned_key.pub")" "$(cat "$KNOWN")"
expect_eq "a strict ssh logs in on the first run" "run1" "$(strict_ssh pin me@localhost 'echo run1')"
wait_until 15 bash -c "! kill -0 $AGENT_PID"
check "the first run's agent ended after the logout" bash -c "! kill -0 $AGENT_PID 2>/dev/null"
# The next run comes later: the server keeps an ID for a moment after its last session
# (for the agent's next connection); meanwhile another agent would get a fresh ID.
wait_until 40 bash -c "curl -fsS 'http://$SERVER/metrics' | grep -qx 'converge_agent_ids 0'"

echo "second run: the same key from CONVERGE_HOST_KEY"
CONVERGE_HOST_KEY=$(cat "$T/pinned_key") start_job_agent --no-hold pin --timeout 60s
expect_contains "the second run registers the same ID" "agent ready: ID pin is registered" "$(cat "$AGENT_LOG")"
expect_contains "the second run shows the same fingerprint" "host key: $WANT" "$(cat "$AGENT_LOG")"
check "the log says the key came from CONVERGE_HOST_KEY" grep -q "host key from CONVERGE_HOST_KEY" "$AGENT_LOG"
check "the key itself is never logged" bash -c "! grep -q 'PRIVATE KEY' '$AGENT_LOG'"
expect_eq "the same strict ssh logs in on the second run" "run2" "$(strict_ssh pin me@localhost 'touch .hold; echo run2')"
expect_eq "shells do not inherit CONVERGE_HOST_KEY" "unset" "$(strict_ssh pin me@localhost 'echo ${CONVERGE_HOST_KEY-unset}')"

echo "a run without a key draws a new one, which a strict ssh refuses"
start_job_agent --key dave fresh --timeout 60s
echo "converge-fresh $(cut -d' ' -f1,2 "$T/pinned_key.pub")" >>"$KNOWN"
out=$(strict_ssh fresh me@localhost true 2>&1)
check "a strict ssh refuses a host key other than the pinned one" test $? -ne 0
expect_contains "OpenSSH says the identification changed" "HOST IDENTIFICATION HAS CHANGED" "$out"

echo "bad keys are configuration errors"
chmod 644 "$T/pinned_key"
out=$(cd "$T/job-pin" && "$DIST/agent" --host-key "$T/pinned_key" "ws://$SERVER" 2>&1)
expect_eq "a key others can read: exit 2" 2 "$?"
expect_contains "it says to chmod 600" "chmod 600" "$out"
out=$(cd "$T/job-pin" && "$DIST/agent" --host-key "$T/no-such-key" "ws://$SERVER" 2>&1)
expect_eq "a missing key file: exit 2" 2 "$?"
expect_contains "it names the flag and the file" "--host-key $T/no-such-key" "$out"
out=$(cd "$T/job-pin" && CONVERGE_HOST_KEY="not a key SECRET-TEXT" "$DIST/agent" "ws://$SERVER" 2>&1)
expect_eq "garbage in CONVERGE_HOST_KEY: exit 2" 2 "$?"
expect_contains "it names the variable" "CONVERGE_HOST_KEY: not an unencrypted OpenSSH private key" "$out"
check "it does not print the variable's text" bash -c '! grep -q SECRET-TEXT <<<"$0"' "$out"
finish
