#!/usr/bin/env python3
"""Drives `ssh -tt` on a real pty: checks the remote tty, then that `stty size` follows
a resize of the local terminal (window-change -> TIOCSWINSZ on the agent's pty master).
Usage: pty_resize.py SSH_ARGS...   Exits 0 on success, 1 with a message otherwise."""
import fcntl, os, pty, select, struct, sys, termios, time

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

pid, fd = pty.fork()
if pid == 0:
    set_size(0, 30, 100)
    os.execvp("ssh", ["ssh", "-tt"] + sys.argv[1:])

output = b""
def expect(token, seconds=10, fatal=True):
    global output
    deadline = time.time() + seconds
    while token not in output:
        left = deadline - time.time()
        if left <= 0:
            if not fatal:
                return False
            print("pty_resize: timed out waiting for %r; got %r" % (token, output[-300:]))
            sys.exit(1)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                print("pty_resize: EOF waiting for %r; got %r" % (token, output[-300:]))
                sys.exit(1)
            output += chunk
    output = output[output.index(token) + len(token):]
    return True

def send(line):
    os.write(fd, line.encode() + b"\n")

# Typeahead sent before the shell has set up its line editor can be lost (a real sshd
# has the same race): repeat until the shell answers.
for attempt in range(5):
    send("PS1='$ '; echo READY-$((40+2))")
    if expect(b"READY-42", 3, fatal=(attempt == 4)):
        break
send("echo TTY=$(tty) SIZE=$(stty size) END")
expect(b"END\r\n")  # the echoed command line
expect(b"TTY=/dev/pts/")
expect(b"SIZE=30 100 END")
set_size(fd, 40, 120)
time.sleep(0.5)
send("echo SIZE=$(stty size) END")
expect(b"END\r\n")
expect(b"SIZE=40 120 END")
send("exit 3")
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
if code != 3:
    print("pty_resize: ssh exited %d, expected 3" % code)
    sys.exit(1)
print("pty_resize: ok (tty, 30x100 then 40x120, exit 3)")
