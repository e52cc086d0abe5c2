#!/usr/bin/env bash
# The static agent on a minimal Debian image (debootstrap --variant=minbase bookworm, plus
# wget to fetch the agent): no libssh, no OpenSSH. The job wgets the agent by host name
# and starts it; the user's ssh and sftp land in that root.
# The root is built once (debootstrap, about 30 s, from the mirror apt here uses: CI reaches
# it too) and cached in .cache/debian-root (git-ignored), then used read-mostly: the job's
# directory and /etc/hosts are bind-mounted from the test's temp dir inside a private
# mount and PID namespace, so nothing is mounted on the host and all of it dies with it.
source "$(dirname "$0")/lib.sh"
CACHE=${DEBIAN_ROOT_CACHE:-$ROOT/.cache/debian-root}
# apt-cache policy lists each source as " 500 URL bookworm/main amd64 Packages".
MIRROR=${DEBIAN_MIRROR:-$(apt-cache policy 2>/dev/null | awk '$3 == "bookworm/main" && $2 ~ /^https?:/ { print $2; exit }')}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (namespaces, chroot)"; exit 77; }
unshare --mount --pid --fork true 2>/dev/null || { echo "SKIP: cannot create mount and PID namespaces here (needs root and a permissive container)"; exit 77; }
if [ ! -f "$CACHE/etc/debian_version" ]; then
  command -v debootstrap >/dev/null || { fail "debootstrap is installed (make test-deps)"; finish; }
  echo "bootstrapping Debian bookworm (minbase) from $MIRROR into $CACHE, once"
  mkdir -p "$(dirname "$CACHE")" && rm -rf "$CACHE.tmp"
  # In its own mount namespace: whatever debootstrap mounts in the target dies with it.
  if ! timeout 300 unshare --mount --propagation private \
      debootstrap --variant=minbase --include=wget bookworm "$CACHE.tmp" "$MIRROR" >"$T/debootstrap.log" 2>&1; then
    fail "debootstrap builds the root: $(grep -m1 -E '^E:' "$T/debootstrap.log" || tail -1 "$T/debootstrap.log")"
    rm -rf "$CACHE.tmp"
    finish
  fi
  mv "$CACHE.tmp" "$CACHE"
fi
file -L "$DIST/agent" | grep -q 'statically linked' || { fail "dist/agent is statically linked (run make dist)"; finish; }
# Mount points for the bind mounts (the only change made to the cached root).
mkdir -p "$CACHE/job" && touch "$CACHE/etc/hosts"

source "$TOOLS/job_root.sh"
ROOT_MOUNT_PREFIXES+=("$CACHE/")

start_server || exit 1

echo "the job's root: Debian bookworm minbase + wget"
JOB=$T/job
# The job runs ci.sh in the image's /bin/sh; $JOB and $T/hosts are bind-mounted into the root.
prepare_job dave deb1 "$JOB" "$T/hosts"
unshare --mount --pid --fork --kill-child --propagation private /bin/sh -c "
    mount -t proc proc '$CACHE/proc' && mount --rbind /dev '$CACHE/dev' &&
    mount --bind '$JOB' '$CACHE/job' && mount --bind '$T/hosts' '$CACHE/etc/hosts' &&
    chroot '$CACHE' /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/job SHELL=/bin/bash /bin/sh /job/ci.sh
    echo \"the job ended (\$?)\"" \
  >"$AGENT_LOG" 2>&1 &
NS_PID=$!
started $NS_PID
wait_for_job_agent "the Debian root"
expect_eq "the agent in the root is the one dist/ serves" "$(sha "$DIST/agent")" "$(sha "$JOB/agent")"
expect_eq "the root's mounts are not visible on the host" 0 "$(mounts_left)"

echo "ssh into the root"
out=$(job_ssh deb1 me@localhost 'cat /etc/debian_version')
expect_eq "the shell is in the Debian root (/etc/debian_version)" "$(cat "$CACHE/etc/debian_version")" "$out"
out=$(job_ssh deb1 me@localhost 'ls /usr/lib/x86_64-linux-gnu | grep -c libssh; command -v ssh sshd sftp-server; true')
expect_eq "no libssh and no OpenSSH in the root" 0 "$out"
check "no libssh anywhere in the cached root" test -z "$(find "$CACHE" -xdev -name 'libssh*' -print -quit)"
out=$(job_ssh deb1 me@localhost 'ldd /job/agent 2>&1; pwd; echo $SHELL')
expect_contains "ldd in the root: the agent is not a dynamic executable" "not a dynamic executable" "$out"
expect_contains "commands run in the job's directory" "/job" "$out"
expect_contains "the shell is the image's bash" "/bin/bash" "$out"
job_ssh deb1 me@localhost 'exit 6'
expect_eq "a command's exit status comes back" 6 "$?"
out=$(printf 'echo pty-$((40 + 2)); tty\nexit\n' | job_ssh deb1 -tt me@localhost 2>&1)
expect_contains "a pty shell (bash) runs" "pty-42" "$out"
expect_contains "the pty is a /dev/pts tty" "/dev/pts/" "$out"

echo "sftp into the root"
head -c 2097152 /dev/urandom >"$T/up.bin"
cat >"$T/batch" <<BATCH
put $T/up.bin /job/up.bin
get /etc/debian_version $T/debian_version.back
ls /
BATCH
out=$(sftp "${SSH_OPTS[@]}" -i "$CLIENT_KEY" -o ProxyCommand="$DIST/wsproxy ws://$SERVER/client/deb1" -b "$T/batch" me@localhost 2>&1)
expect_eq "an sftp batch (put, get, ls) succeeds" 0 "$?"
expect_eq "a file put over sftp appears in the job's directory on the host" "$(sha "$T/up.bin")" "$(sha "$JOB/up.bin")"
expect_eq "sftp get reads the root's /etc/debian_version" "$(sha "$CACHE/etc/debian_version")" "$(sha "$T/debian_version.back")"
expect_contains "sftp ls / lists the root" "/usr" "$out"

echo "nothing left behind"
check "the agent is still running in the root" kill -0 "$NS_PID"
stop_root
expect_eq "no mount under the test's directory or the cache remains on the host" 0 "$(mounts_left)"
expect_eq "no process of the root remains" "" "$(pgrep -f "ws://$HOST:$SERVER_PORT")"
check "the cached root's job directory is empty again" test -z "$(ls -A "$CACHE/job")"
finish
