#!/usr/bin/env bash
# Edits to the authorized keys file count for the next login, without a restart: a
# colleague's key added from inside a session logs in, a removed key is refused, an
# editor's write-and-rename is seen, and the same for --authorized-keys FILE; the agent's
# log says what was added and removed.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
start_job_agent --key alice live --timeout 120s
make_client_key colleague
as() {  # as KEY [SSH ARGS...]: ssh to the job with only KEY
  local key=$1; shift
  ssh "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -i "$T/$key" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/$ID" "$@"
}
ID=live
fp() { ssh-keygen -lf "$T/$1.pub" | cut -d' ' -f2; }

as colleague me@localhost true 2>/dev/null
expect_eq "the colleague's key is refused at first" 255 "$?"
as alice me@localhost 'cat >>.authorized_keys' <"$T/colleague.pub"
expect_eq "a key added from inside a session logs in at once" "in" "$(as colleague me@localhost 'echo in')"
expect_contains "the agent logs the added key" "added ssh-ed25519 key $(fp colleague)" "$(cat "$AGENT_LOG")"

cp "$T/colleague.pub" "$AGENT_DIR/.authorized_keys.new"
mv "$AGENT_DIR/.authorized_keys.new" "$AGENT_DIR/.authorized_keys"  # an editor's write and rename
as alice me@localhost true 2>/dev/null
expect_eq "a removed key is refused at the next login" 255 "$?"
expect_contains "the agent logs the removed key" "removed ssh-ed25519 key $(fp alice)" "$(cat "$AGENT_LOG")"
expect_eq "the key that stayed still logs in" "in" "$(as colleague me@localhost 'echo in')"
echo "bogus-option $(cat "$T/alice.pub")" >>"$AGENT_DIR/.authorized_keys"
as alice me@localhost true 2>/dev/null
expect_eq "an added line with an unknown option does not let its key in" 255 "$?"
expect_contains "the agent names that line" 'line 2: options: unknown option "bogus-option"' "$(cat "$AGENT_LOG")"
rm "$AGENT_DIR/.authorized_keys"
as colleague me@localhost true 2>/dev/null
expect_eq "with the file gone, its keys are refused" 255 "$?"
expect_contains "the agent says the file is gone" ".authorized_keys is gone" "$(cat "$AGENT_LOG")"

echo "--authorized-keys FILE"
kill "$AGENT_PID"
cp "$T/alice.pub" "$T/keys-file"
mkdir -p "$T/job-live2"
start_job_agent live2 --timeout 120s --authorized-keys "$T/keys-file"
ID=live2
as colleague me@localhost true 2>/dev/null
expect_eq "the colleague's key is refused by the file at first" 255 "$?"
cat "$T/colleague.pub" >>"$T/keys-file"
expect_eq "a key added to --authorized-keys FILE logs in" "in" "$(as colleague me@localhost 'echo in')"
cp "$T/colleague.pub" "$T/keys-file"
as alice me@localhost true 2>/dev/null
expect_eq "a key removed from --authorized-keys FILE is refused" 255 "$?"
check "the agent is still running" kill -0 "$AGENT_PID"
finish
