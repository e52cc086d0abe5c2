#!/usr/bin/env bash
# The real agent: commands with their exit status and exact output, a pty shell that
# follows window size changes, several sessions at once, nothing left behind.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
start_job_agent --key alice a1 --timeout 120s
expect_contains "the agent prints its ID" "ID a1 is registered" "$(cat "$AGENT_LOG")"
expect_contains "the agent prints a known_hosts line" "known_hosts: converge-a1 ssh-ed25519 " "$(cat "$AGENT_LOG")"
expect_contains "the agent prints the ssh command" "connect: ssh " "$(cat "$AGENT_LOG")"
known=$(grep -o 'known_hosts: .*' "$AGENT_LOG" | cut -d' ' -f2-)
echo "$known" >"$T/known_hosts"

echo "commands"
job_ssh a1 -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$T/known_hosts" -o HostKeyAlias=converge-a1 me@localhost 'exit 7'
expect_eq "ssh host 'exit 7' returns 7 (with the printed host key verified)" 7 "$?"
out=$(job_ssh a1 me@localhost 'pwd; echo "$HOME" >/dev/null; echo $JOB_MARK')
expect_eq "the command runs in the agent's working directory" "$T/job-a1" "$(echo "$out" | head -1)"
head -c 1048576 /dev/urandom >"$T/mb"
job_ssh a1 me@localhost "cat '$T/mb'" >"$T/mb.out"
expect_eq "1 MB of binary stdout is exact" "$(sha "$T/mb")" "$(sha "$T/mb.out")"
out=$(printf 'line one\nline two\n' | job_ssh a1 me@localhost 'wc -l')
expect_eq "stdin reaches the command and EOF ends it" 2 "$(echo $out)"
job_ssh a1 me@localhost 'kill -TERM $$'
expect_eq "a command killed by a signal reports it (ssh exits 255)" 255 "$?"
out=$(job_ssh a1 me@localhost 'echo to-stderr >&2' 2>&1 >/dev/null)
expect_eq "stderr comes back separately" "to-stderr" "$out"

echo "a pty shell"
# pty_resize.py checks each step (a /dev/pts tty, the client's size 30x100, stty size after
# a resize to 40x120, the shell's exit status) and says which one failed.
check "a pty session: a /dev/pts tty at the client's size, stty size follows a resize" \
  timeout 30 python3 "$TOOLS/pty_resize.py" "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/a1" me@localhost

echo "five sessions at once"
for i in 1 2 3 4 5; do
  job_ssh a1 me@localhost "sleep 1; echo session-$i" >"$T/s$i" 2>&1 &
  eval "p$i=\$!"
done
ok=0
for i in 1 2 3 4 5; do
  eval "wait \$p$i" && [ "$(cat "$T/s$i")" == "session-$i" ] && ok=$((ok + 1))
done
expect_eq "five concurrent sessions all succeed" 5 "$ok"

echo "through tcptows"
TPORT=$(free_port)
"$DIST/tcptows" --listen "127.0.0.1:$TPORT" "ws://$SERVER/client/a1" >"$T/tcptows.log" 2>&1 &
started $!
wait_until 10 bash -c "echo > /dev/tcp/127.0.0.1/$TPORT"
out=$(ssh "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -p "$TPORT" me@localhost 'echo via-tcptows; exit 4')
expect_eq "ssh through tcptows gives output and status" "via-tcptows 4" "$out $?"

echo "nothing left behind"
# The client vanishes (killed) while its pty shell runs a command.
timeout -s KILL 3 ssh "${SSH_OPTS[@]}" -tt -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/a1" me@localhost 'sleep 301' >/dev/null 2>&1
sleep 3
if pgrep -f 'sleep 301' >/dev/null; then fail "a dropped pty client's shell is gone"; else pass "a dropped pty client's shell is gone"; fi
zombies=$(ps -o stat= --ppid "$AGENT_PID" | grep -c Z)
expect_eq "the agent has no zombie children" 0 "$zombies"
check "the agent is still running" kill -0 "$AGENT_PID"
finish
