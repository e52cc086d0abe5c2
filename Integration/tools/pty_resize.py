#!/usr/bin/env python3
"""Drives a command (ssh -tt) on a pseudo-terminal: sets a size, asks `tty; stty size`,
resizes, asks `stty size` again, exits; prints everything the command wrote."""
import os, pty, select, struct, fcntl, termios, sys, time
cmd = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
def setsize(rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.kill(pid, 28)  # SIGWINCH to ssh, which sends window-change
out = b""
def pump(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
setsize(30, 100)
pump(2.5)
os.write(fd, b"tty; stty size\n"); pump(1.5)
setsize(40, 132); pump(1)
os.write(fd, b"stty size; exit\n"); pump(2)
sys.stdout.write(out.decode(errors="replace"))
