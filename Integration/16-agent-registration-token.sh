#!/usr/bin/env bash
# A server started with --agent-token-file registers only agents that present one of its
# tokens (CONVERGE_AGENT_TOKEN); others get 401 and stop with a clear message.
source "$(dirname "$0")/lib.sh"
TOKEN="ci-secret-$RANDOM-$RANDOM-$RANDOM"
printf '# tokens for our CI\n\n%s\n' "$TOKEN" >"$T/tokens"
start_server --agent-token-file "$T/tokens" || exit 1
expect_contains "the docs page says a token is required" "CONVERGE_AGENT_TOKEN" "$(curl -fsS "http://$SERVER/")"

echo "without a token"
authorize frank k0
(cd "$T/job-k0" && env -u CONVERGE_AGENT_TOKEN timeout 20 "$DIST/agent" --id k0 "ws://$SERVER") >"$T/k0.log" 2>&1
expect_eq "an agent without a token exits 2" 2 "$?"
expect_contains "it says a token is needed" "CONVERGE_AGENT_TOKEN" "$(cat "$T/k0.log")"
(cd "$T/job-k0" && CONVERGE_AGENT_TOKEN=wrong-token-0123456789 timeout 20 "$DIST/agent" --id k0 "ws://$SERVER") >"$T/k0b.log" 2>&1
expect_eq "an agent with a wrong token exits 2" 2 "$?"
expect_contains "the refusal is counted in /metrics" 'converge_connections_refused_total{reason="agent_token"}' "$(curl -fsS "http://$SERVER/metrics")"
check "the refusal is logged with the limit's name" grep -q "limit: agent_token" "$SERVER_LOG"

echo "with the token"
CONVERGE_AGENT_TOKEN=$TOKEN start_job_agent --key frank k1 --timeout 60s
check "the agent with the token registers" grep -q "agent ready" "$AGENT_LOG"
expect_eq "a session through it works" "in" "$(job_ssh k1 me@localhost 'echo in')"
expect_eq "shells do not inherit the token" "" "$(job_ssh k1 me@localhost 'echo $CONVERGE_AGENT_TOKEN')"

echo "a bad token file"
printf 'short\n' >"$T/bad-tokens"
"$DIST/converge" --listen "127.0.0.1:$(free_port)" --agent-token-file "$T/bad-tokens" >"$T/bad.out" 2>&1
expect_eq "a token file with a too-short token is a usage error" 2 "$?"
expect_contains "it names the flag and the line" "--agent-token-file" "$(head -1 "$T/bad.out")"
finish
