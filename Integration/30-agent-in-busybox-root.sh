#!/usr/bin/env bash
# The static agent on the barest CI image there is: a root holding only a static busybox,
# /proc, /dev and an /etc/hosts that names the server. The job wgets the agent from the
# server by that name and starts it; the user's ssh and sftp land in that root.
# The root lives in its own mount and PID namespace: its mounts never touch the host and
# die with it, whatever happens to this script.
source "$(dirname "$0")/lib.sh"
BUSYBOX=/bin/busybox
if ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
  bash "$ROOT/scripts/install-packages.sh" busybox-static >/dev/null || { echo "SKIP: busybox-static cannot be installed"; exit 77; }
fi
file -L "$DIST/agent" | grep -q 'statically linked' || { fail "dist/agent is statically linked (run make dist)"; finish; }

unshare --mount --pid --fork true 2>/dev/null || { echo "SKIP: cannot create mount and PID namespaces here (needs root and a permissive container)"; exit 77; }
R=$T/root
source "$TOOLS/job_root.sh"

start_server || exit 1

echo "the job's root: busybox, /proc, /dev, /etc/hosts"
mkdir -p "$R/bin" "$R/proc" "$R/dev" "$R/etc" "$R/tmp" "$R/job"
cp "$BUSYBOX" "$R/bin/busybox"
for applet in $("$BUSYBOX" --list); do [ -e "$R/bin/$applet" ] || ln -s busybox "$R/bin/$applet"; done
chmod 1777 "$R/tmp"
# The job runs ci.sh in busybox sh inside the root.
prepare_job carol bb1 "$R/job" "$R/etc/hosts"
# The job sees only the root and a bare environment (busybox's /bin/sh as SHELL).
unshare --mount --pid --fork --kill-child --propagation private /bin/sh -c "
    mount -t proc proc '$R/proc' && mount --rbind /dev '$R/dev' &&
    chroot '$R' /bin/env -i PATH=/bin HOME=/job SHELL=/bin/sh /bin/sh /job/ci.sh; echo \"the job ended (\$?)\"" \
  >"$AGENT_LOG" 2>&1 &
NS_PID=$!
started $NS_PID
wait_for_job_agent "the busybox root"
expect_eq "the agent in the root is the one dist/ serves" "$(sha "$DIST/agent")" "$(sha "$R/job/agent")"
expect_eq "the root's mounts are not visible on the host" 0 "$(mounts_left)"

echo "ssh into the root"
out=$(job_ssh bb1 me@localhost 'ls /')
expect_eq "ls / shows only the root's entries" "$(ls "$R" | tr '\n' ' ')" "$(echo $out) "
out=$(job_ssh bb1 me@localhost 'pwd; echo $SHELL; busybox sh -c "echo \$((6 * 7))"; cat /etc/hosts')
expect_contains "commands run in the job's directory" "/job" "$(echo "$out" | head -1)"
expect_contains "the shell is busybox's /bin/sh" "/bin/sh" "$(echo "$out" | sed -n 2p)"
expect_contains "busybox sh runs" "42" "$(echo "$out" | sed -n 3p)"
expect_contains "/etc/hosts is the root's" "$HOST" "$out"
job_ssh bb1 me@localhost 'test -e /usr/bin/ssh || test -e /lib/x86_64-linux-gnu/libc.so.6'
expect_eq "no libc and no OpenSSH exist in the root" 1 "$?"
job_ssh bb1 me@localhost 'exit 5'
expect_eq "a command's exit status comes back" 5 "$?"
out=$(printf 'echo pty-$((40 + 2)); tty\nexit\n' | job_ssh bb1 -tt me@localhost 2>&1)
expect_contains "a pty shell (busybox sh) runs" "pty-42" "$out"
expect_contains "the pty is a /dev/pts tty" "/dev/pts/" "$out"
out=$(job_ssh bb1 me@localhost 'echo marker >/tmp/written-inside')
expect_eq "a file written in the root's /tmp is in the root's directory on the host" marker "$(cat "$R/tmp/written-inside" 2>/dev/null)"

echo "sftp into the root"
head -c 2097152 /dev/urandom >"$T/up.bin"
cat >"$T/batch" <<BATCH
put $T/up.bin /job/up.bin
get /etc/hosts $T/hosts.back
ls /
BATCH
out=$(sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/bb1" -b "$T/batch" me@localhost 2>&1)
expect_eq "an sftp batch (put, get, ls) succeeds" 0 "$?"
expect_eq "a file put over sftp appears in the root's directory on the host" "$(sha "$T/up.bin")" "$(sha "$R/job/up.bin")"
expect_eq "sftp get reads the root's /etc/hosts" "$(sha "$R/etc/hosts")" "$(sha "$T/hosts.back")"
expect_contains "sftp ls / lists the root" "/job" "$out"

echo "nothing left behind"
check "the agent is still running in the root" kill -0 "$NS_PID"
stop_root
expect_eq "no mount under the test's directory remains on the host" 0 "$(mounts_left)"
expect_eq "no process of the root remains" "" "$(pgrep -f "ws://$HOST:$SERVER_PORT")"
finish
