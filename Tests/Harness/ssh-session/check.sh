#!/usr/bin/env bash
# Integration check of the agent's SSH core: the real OpenSSH ssh, sftp and scp against
# the ssh-session harness (one forked session process per TCP connection on 127.0.0.1).
#   Tests/Harness/ssh-session/check.sh          (builds the harness first)
# Needs: ssh, sftp, scp, sshpass, python3, curl. One line per check; exit 1 if any failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BIN=${HARNESS_BIN:-$ROOT/.build-agent/debug/ssh-session-harness}
if [ -z "${HARNESS_BIN:-}" ]; then
    (cd "$ROOT" && swift build --scratch-path .build-agent --product ssh-session-harness >/dev/null) || { echo "build failed"; exit 1; }
fi

WORK=$(mktemp -d /tmp/converge-ssh-check.XXXXXX)
# Four loopback ports nobody listens on now (harness, web server, two forwards).
read -r FREE1 FREE2 FREE3 FREE4 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
PORT=${PORT:-$FREE1}
HTTP_PORT=$FREE2
LOG=$WORK/harness.log
HARNESS_PID=
HTTP_PID=
FAILED=0

cleanup() {
    [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
    [ -n "$HARNESS_PID" ] && kill "$HARNESS_PID" 2>/dev/null
    wait 2>/dev/null
    if [ "$FAILED" = 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1${2:+: $2}"; FAILED=1; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
all() { local c; for c in "$@"; do eval "$c" || return 1; done; }
matches() { case "$1" in $2) return 0 ;; esac; return 1; }
logged() { grep -qF -- "$1" "$LOG" 2>/dev/null; }
wait_logged() { for _ in $(seq 50); do logged "$1" && return 0; sleep 0.1; done; return 1; }
sum() { sha256sum "$@" | cut -c1-64; }
fingerprint() { ssh-keygen -lf "$1" | awk '{print $2}'; }

# Keys: ok (authorized), rsa (authorized behind an options prefix), bad (not).
cd "$WORK"
for k in ok bad; do ssh-keygen -q -t ed25519 -N '' -C "$k@check" -f id_$k; done
ssh-keygen -q -t rsa -b 2048 -N '' -C rsa@check -f id_rsa
{
    echo "# team keys"
    cat id_ok.pub
    echo
    echo "no-pty,command=\"echo \\\"forced, with spaces\\\"\",No-Agent-Forwarding $(cat id_rsa.pub)"
    echo "ssh-dss AAAAB3NzaC1kc3MAAACBAP== old"
    echo "not a key"
} > authorized_keys
mkdir -p home www ctl
head -c 1000000 /dev/urandom > 1mb.bin
head -c 50000000 /dev/urandom > 50mb.bin

(cd home && HOME=$WORK/home CONVERGE_PASSWORD=agent-pw HARNESS_USER_PASSWORD=team-pw SHELL=/bin/bash \
    exec "$BIN" --port "$PORT" --authorized-keys "$WORK/authorized_keys" --user team \
    --known-hosts "$WORK/known_hosts" --control-dir "$WORK/ctl" > "$LOG" 2>&1) &
HARNESS_PID=$!
wait_logged "listening on" || { bad "harness starts" "$(cat "$LOG")"; exit 1; }

cat > ssh_config <<CONF
Host h k
  HostName 127.0.0.1
  Port $PORT
  User tester
  UserKnownHostsFile $WORK/known_hosts
  StrictHostKeyChecking yes
  IdentitiesOnly yes
  BatchMode yes
  ConnectTimeout 5
Host h
  IdentityFile $WORK/id_ok
CONF
S="ssh -F $WORK/ssh_config"
PW_OPTS="-o UserKnownHostsFile=$WORK/known_hosts -o StrictHostKeyChecking=yes -o PubkeyAuthentication=no -o PreferredAuthentications=password -p $PORT"

# (HOME is an empty directory: the pty checks must not depend on this machine's ~/.bashrc.)

# --- start-up report
check "authorized_keys: options shown, with line number" logged 'line 4: accepting ssh-rsa key SHA256:'
check "authorized_keys: the options as written" logged 'with options "no-pty,command='
check "authorized_keys: DSA refused, with line number" logged "line 5: unsupported key type ssh-dss"
check "authorized_keys: garbage reported, with line number" logged "line 6: expected a key type"
check "host key fingerprint printed matches known_hosts line" logged "host key $(fingerprint known_hosts)"

# --- exec
timeout 20 $S h 'exit 7'; check "ssh host 'exit 7' returns 7" [ $? = 7 ]
timeout 20 $S h 'kill -9 $$'; rc=$?
check "killed command: client exits 255, log says SIGKILL" all "[ $rc = 255 ]" "wait_logged 'killed by SIGKILL'"
check "1 MB binary output byte-exact" [ "$(timeout 20 $S h "cat $WORK/1mb.bin" | sum)" = "$(sum 1mb.bin)" ]
check "50 MB stdin to a command byte-exact" [ "$(timeout 60 $S h 'sha256sum' < 50mb.bin | cut -c1-64)" = "$(sum 50mb.bin)" ]
check "50 MB both ways across 100 key re-exchanges (RekeyLimit 1M)" all \
    "[ \"\$(timeout 60 $S -o RekeyLimit=1M h 'cat $WORK/50mb.bin' | sum)\" = $(sum 50mb.bin) ]" \
    "[ \"\$(timeout 60 $S -o RekeyLimit=1M h sha256sum < 50mb.bin | cut -c1-64)\" = $(sum 50mb.bin) ]"
check "client EOF closes the child's stdin (cat ends)" [ "$(echo hello | timeout 10 $S h cat)" = "hello" ]
check "stderr kept apart from stdout" [ "$(timeout 10 $S h 'echo out; echo err >&2' 2>/dev/null)" = "out" ]
check "cwd and environment are the agent's" [ "$(timeout 10 $S h 'pwd; echo $SHELL' | tr '\n' ' ')" = "$WORK/home /bin/bash " ]
out=$(timeout 10 $S -o SetEnv="LANG=C.UTF-8 LC_X=1 EVIL=1" h 'echo "$LANG $LC_X ${EVIL:-none} ${CONVERGE_PASSWORD:-hidden}"')
check "env: LANG/LC_* taken, others ignored, agent password withheld" [ "$out" = "C.UTF-8 1 none hidden" ]
timeout 10 $S h -s nosuchsubsystem < /dev/null 2>/dev/null; check "unknown subsystem refused" [ $? != 0 ]

# --- pty
out=$(timeout 10 $S -tt h 'tty; stty size' < /dev/null 2>/dev/null | tr -d '\r' | tr '\n' ' ')
check "ssh -tt: a /dev/pts tty, 80x24 for a 0x0 request ($out)" matches "$out" "/dev/pts/* 24 80 "
timeout 10 $S -tt h 'exit 5' < /dev/null > /dev/null 2>&1; check "ssh -tt exit status 5" [ $? = 5 ]
check "pty: stty size follows a resize (python pty driver)" timeout 30 python3 "$ROOT/Integration/tools/pty_resize.py" -F "$WORK/ssh_config" h

# --- sftp and scp
if timeout 120 sftp -F ssh_config -b - h > sftp.out 2>&1 <<EOF
put $WORK/50mb.bin $WORK/home/up.bin
get $WORK/home/up.bin $WORK/down.bin
ls $WORK/home
EOF
then
    check "sftp put/get 50 MB byte-exact" all "[ $(sum home/up.bin) = $(sum 50mb.bin) ]" "[ $(sum down.bin) = $(sum 50mb.bin) ]"
else
    bad "sftp put/get 50 MB" "$(tail -3 sftp.out)"
fi
timeout 30 scp -F ssh_config -q 1mb.bin h:"$WORK/home/scp-up.bin" && timeout 30 scp -F ssh_config -q h:"$WORK/home/scp-up.bin" scp-down.bin
check "scp (sftp protocol) both ways" [ "$(sum scp-down.bin)" = "$(sum 1mb.bin)" ]
timeout 30 scp -O -F ssh_config -q 1mb.bin h:"$WORK/home/scpO-up.bin" && timeout 30 scp -O -F ssh_config -q h:"$WORK/home/scpO-up.bin" scpO-down.bin
check "scp -O (legacy, through exec) both ways" [ "$(sum scpO-down.bin)" = "$(sum 1mb.bin)" ]

# --- ssh -L
head -c 20000000 /dev/urandom > www/big.bin
echo "hello over -L" > www/index.html
(cd www && exec python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 > "$WORK/http.log" 2>&1) &
HTTP_PID=$!
LPORT=$FREE3; RPORT=$FREE4
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" && break; sleep 0.1; done
timeout 60 $S -N -o ExitOnForwardFailure=yes -L $LPORT:127.0.0.1:$HTTP_PORT -L $RPORT:127.0.0.1:1 h 2> forward.err &
FWD_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$LPORT/" && break; sleep 0.1; done
check "ssh -L reaches python http.server" [ "$(curl -s "http://127.0.0.1:$LPORT/index.html")" = "hello over -L" ]
check "ssh -L 20 MB byte-exact" [ "$(curl -s "http://127.0.0.1:$LPORT/big.bin" | sum)" = "$(sum www/big.bin)" ]
curl -s -m 5 "http://127.0.0.1:$RPORT/" > /dev/null
check "ssh -L to a closed port: open failure, reason in the log" wait_logged "forward to 127.0.0.1:1 refused: Connection refused"
kill $FWD_PID 2>/dev/null; wait $FWD_PID 2>/dev/null
check "client was told (channel open failed)" grep -q "open failed" forward.err

# --- never stall: on one connection, a channel whose client stops reading and a child
# that does not read its stdin must not delay a third channel.
timeout 60 $S -M -S "$WORK/mux" -fN h
(timeout 30 $S -S "$WORK/mux" h "cat $WORK/50mb.bin" | (sleep 5; wc -c) > stalled-read.out) &
R1=$!
(timeout 30 $S -S "$WORK/mux" h 'sleep 4; sha256sum' < 50mb.bin > stalled-write.out) &
R2=$!
sleep 1
start=$(date +%s%N)
out=$(timeout 5 $S -S "$WORK/mux" h 'echo alive')
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "another channel answers while two are stalled (${ms} ms)" all "[ '$out' = alive ]" "[ $ms -lt 2000 ]"
wait $R1 $R2
check "the stalled channels then complete byte-exact" all "[ $(tr -d ' ' < stalled-read.out) = 50000000 ]" "[ $(cut -c1-64 stalled-write.out) = $(sum 50mb.bin) ]"
$S -S "$WORK/mux" -O exit h 2>/dev/null

# --- five sessions at once
pids=
for i in 1 2 3 4 5; do
    (timeout 30 $S h "sleep 1; sha256sum" < 1mb.bin | cut -c1-64 > five.$i) &
    pids="$pids $!"
done
wait $pids
n=0; for i in 1 2 3 4 5; do [ "$(cat five.$i)" = "$(sum 1mb.bin)" ] && n=$((n + 1)); done
check "five sessions at once" [ $n = 5 ]

# --- authentication
check "key login (ed25519), logged with its fingerprint" all "[ \"\$(timeout 10 $S h 'echo in')\" = in ]" \
    "logged 'method publickey key ssh-ed25519 $(fingerprint id_ok.pub) (ok@check)'"
check "key login (rsa, behind an options prefix), its forced command run" [ "$(timeout 10 $S -i id_rsa k 'echo in')" = "forced, with spaces" ]
timeout 10 $S -i id_bad k true 2>/dev/null; rc=$?
check "wrong key refused, reason in the log" all "[ $rc = 255 ]" "logged 'key ssh-ed25519 $(fingerprint id_bad.pub): key not in the authorized keys'"
ssh-keygen -q -t ed25519 -N '' -f ca && cp id_ok certified && cp id_ok.pub certified.pub && ssh-keygen -q -s ca -I check -n tester certified.pub
check "certificate refused as unsupported, then the plain key logs in" all \
    "[ \"\$(timeout 10 $S -i certified -o CertificateFile=$WORK/certified-cert.pub k 'echo in')\" = in ]" \
    "logged 'key ssh-ed25519-cert-v01@openssh.com'" "logged 'certificates are not supported'"
check "agent password, any user name" all "[ \"\$(SSHPASS=agent-pw timeout 20 sshpass -e ssh $PW_OPTS anyone@127.0.0.1 'echo in')\" = in ]" \
    "logged 'user \"anyone\" method password (agent)'"
check "server user's password" all "[ \"\$(SSHPASS=team-pw timeout 20 sshpass -e ssh $PW_OPTS team@127.0.0.1 'echo in')\" = in ]" \
    "logged 'user \"team\" method password (server user)'"
SSHPASS=nope timeout 20 sshpass -e ssh $PW_OPTS team@127.0.0.1 true 2>/dev/null; rc=$?
check "wrong password refused, reason in the log" all "[ $rc != 0 ]" "logged 'user \"team\" method password: wrong password'"
for i in 1 2 3 4 5 6 7; do ssh-keygen -q -t ed25519 -N '' -f extra$i; done
timeout 20 $S -i extra1 -i extra2 -i extra3 -i extra4 -i extra5 -i extra6 -i extra7 -i id_ok k true 2>/dev/null; rc=$?
check "7 unknown keys offered: cut off after 6 failures" all "[ $rc = 255 ]" "logged 'too many authentication failures: 6 (limit: max_auth_tries)'"
printf '#!/bin/sh\necho wrong\n' > askpass; chmod +x askpass
before=$(grep -c 'method password: wrong password' "$LOG")
start=$(date +%s)
SSH_ASKPASS=$WORK/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 timeout 60 ssh $PW_OPTS -o NumberOfPasswordPrompts=10 team@127.0.0.1 true < /dev/null 2>/dev/null
took=$(( $(date +%s) - start ))
tries=$(( $(grep -c 'method password: wrong password' "$LOG") - before ))
check "wrong passwords slowed ($tries tries took ${took}s) and cut off at 6" all "[ $took -ge 10 ]" "[ $tries = 6 ]"

# --- the agent's hooks: a message to every shell and command, then close everything
# (the harness maps a FIFO per session to SSHServerSession.broadcast / closeAll).
control() { local f; for f in "$WORK"/ctl/session-*; do [ -p "$f" ] && timeout 2 sh -c "echo '$1' > '$f'"; done; }
(timeout 20 $S h 'for i in $(seq 40); do echo tick $i; sleep 0.2; done'; echo "rc=$?") > hook-exec.out 2>&1 &
H1=$!
(timeout 20 $S -tt h 'for i in $(seq 40); do echo tty $i; sleep 0.2; done' < /dev/null; echo "rc=$?") > hook-pty.out 2>&1 &
H2=$!
sleep 1.5
control "broadcast *** note from the agent ***"
sleep 0.5
control "close *** session expired ***"
wait $H1 $H2
check "broadcast reaches a running command" grep -q "^\*\*\* note from the agent \*\*\*$" hook-exec.out
check "broadcast reaches a pty shell (CR LF)" grep -q $'^\\*\\*\\* note from the agent \\*\\*\\*\r$' hook-pty.out
check "closeAll: final message, then the connection ends" all "grep -q 'session expired' hook-exec.out" "grep -q 'session expired' hook-pty.out" \
    "! grep -q 'tick 40' hook-exec.out" "grep -q 'closed by the agent' '$LOG'"

# --- nothing left behind when a client vanishes
$S -tt h 'sleep 4241 & nohup sleep 4242 >/dev/null 2>&1 & bash -c "trap \"\" HUP; sleep 4243" & exec bash' < /dev/null > /dev/null 2>&1 &
C1=$!
$S h 'sleep 4244 & sleep 4245' > /dev/null 2>&1 &
C2=$!
for _ in $(seq 50); do [ "$(pgrep -f '^sleep 424[1-5]' | wc -l)" -ge 5 ] && break; sleep 0.1; done
check "children running (5 marker sleeps, one ignoring SIGHUP)" [ "$(pgrep -f '^sleep 424[1-5]' | wc -l)" = 5 ]
kill -9 $C1 $C2; wait $C1 $C2 2>/dev/null
sleep 2.5
check "client killed: no leftover process" [ -z "$(pgrep -f '^sleep 424[1-5]')" ]
check "no session process and no zombie left under the harness" [ -z "$(ps -o pid=,stat= --ppid "$HARNESS_PID")" ]

# --- the agent stops a session process (SIGTERM): children killed, client told
(timeout 20 $S h 'sleep 4251 & sleep 4252'; echo "rc=$?") > term.out 2>&1 &
T1=$!
for _ in $(seq 50); do [ "$(pgrep -f '^sleep 425[12]' | wc -l)" = 2 ] && break; sleep 0.1; done
SESSION_PID=$(ps -o pid= --ppid "$HARNESS_PID" | head -1)
[ -n "$SESSION_PID" ] && kill -TERM $SESSION_PID
wait $T1
sleep 0.5
check "SIGTERM to a session: children gone, client disconnected" all "[ -z \"\$(pgrep -f '^sleep 425[12]')\" ]" \
    "grep -q 'rc=255' term.out" "logged 'stopped by SIGTERM'"

if [ "$FAILED" = 0 ]; then echo "all checks passed"; else echo "some checks FAILED (log: $LOG)"; fi
exit $FAILED
