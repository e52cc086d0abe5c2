#!/usr/bin/env bash
# On GitHub Actions the run's page shows the job summary: with GITHUB_STEP_SUMMARY set,
# the agent appends how to connect (ID, ssh -J and wsproxy commands, host key, known_hosts).
source "$(dirname "$0")/lib.sh"
JUMP_PORT=$(free_port)
start_server --ssh-listen "127.0.0.1:$JUMP_PORT" --ssh-host-key "$T/jump_key" || exit 1
SUMMARY=$T/step_summary.md
printf '## Tests\n\nfailed\n\n' >"$SUMMARY"
GITHUB_STEP_SUMMARY=$SUMMARY start_job_agent --key erin summary-1 --timeout 60s
text=$(cat "$SUMMARY")
FP=$(sed -n 's/.*host key: \(SHA256:[^ ]*\).*/\1/p' "$AGENT_LOG" | head -1)
KH=$(grep -o 'known_hosts: converge-summary-1 .*' "$AGENT_LOG" | head -1 | cut -d' ' -f2-)
check "the log has the fingerprint and known_hosts line to compare with" test -n "$FP" -a -n "$KH"
check "what the job wrote before stays" grep -q '^## Tests$' "$SUMMARY"
expect_contains "a heading" "### Converge: SSH into this job" "$text"
expect_contains "the ID" '- ID: `summary-1`' "$text"
expect_contains "the host key fingerprint, as in the log" "- Host key: \`$FP\`" "$text"
expect_contains "the ssh -J command" "ssh -J 127.0.0.1:$JUMP_PORT -oHostKeyAlias=converge-summary-1 USER@summary-1" "$text"
expect_contains "the wsproxy command" "-oProxyCommand=\"wsproxy ws://$SERVER/client/summary-1\" USER@localhost" "$text"
expect_contains "the known_hosts line, as in the log" "$KH" "$text"
check "the known_hosts line is a fenced line of its own" grep -qxF "$KH" "$SUMMARY"
expect_eq "one block" 1 "$(grep -c '^### Converge' "$SUMMARY")"
check "the log says the summary was written" grep -q 'in the job summary (GITHUB_STEP_SUMMARY)' "$AGENT_LOG"

echo "the commands in the summary work"
CMD=$(grep -m1 '^ssh -J ' "$SUMMARY")
# The person's key and no host key prompts, for both hops (the jump ssh reads -F too).
cat >"$T/ssh_config" <<CONF
Host *
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  BatchMode yes
  IdentityFile $CLIENT_KEY
  IdentitiesOnly yes
  LogLevel ERROR
  ConnectTimeout 20
CONF
CMD=${CMD/#ssh /ssh -F $T/ssh_config }
# USER is the summary's placeholder for any user name.
out=$(eval "${CMD/USER@/me@} 'echo via-summary'")
expect_eq "the summary's ssh -J command logs in" "via-summary" "$out"

echo "without the variable, nothing is written"
before=$(sha "$SUMMARY")
start_job_agent --key erin summary-2 --timeout 60s
expect_eq "the summary file is untouched by an agent without GITHUB_STEP_SUMMARY" "$before" "$(sha "$SUMMARY")"
check "nor does it claim to have written one" bash -c "! grep -q 'job summary' '$AGENT_LOG'"
finish
