#!/usr/bin/env python3
"""`make bench`: Converge against OpenSSH references, all on loopback, in one run.

Paths: direct sshd; socat TCP relay; websockify + a stdio<->WebSocket ProxyCommand
(bench/ws_stdio.py); converge through wsproxy and through tcptows (SSH server: our agent).
Prints one table and writes it, with the machine it ran on, to bench/results.md.
Every process it starts is killed at the end, also on failure or a signal.

Knobs (environment): BENCH_RUNS (5), BENCH_MB (1024, chacha20-poly1305 sftp file),
BENCH_AES_MB (256, aes128-gcm), BENCH_TRUE_RUNS (10), BENCH_RTT (200),
BENCH_IDLE ("1000 10000"), BENCH_SESSIONS (200), DIST (dist/), BENCH_OUT (results.md).
"""
import base64
import os
import platform
import pty
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
DIST = os.environ.get("DIST", os.path.join(ROOT, "dist"))
OUT = os.environ.get("BENCH_OUT", os.path.join(BENCH, "results.md"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
MB = int(os.environ.get("BENCH_MB", "1024"))
AES_MB = int(os.environ.get("BENCH_AES_MB", "256"))
TRUE_RUNS = int(os.environ.get("BENCH_TRUE_RUNS", "10"))
RTT_N = int(os.environ.get("BENCH_RTT", "200"))
IDLE = [int(x) for x in os.environ.get("BENCH_IDLE", "1000 10000").split()]
SESSIONS = int(os.environ.get("BENCH_SESSIONS", "200"))
PY = sys.executable
CLK = os.sysconf("SC_CLK_TCK")
MiB = 1 << 20
GiB = 1 << 30

T = tempfile.mkdtemp(prefix="converge-bench.")
SHM = tempfile.mkdtemp(prefix="converge-bench.", dir="/dev/shm")
STARTED = []
T_START = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T_START:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

def children_of():
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def descendants(pid, kids=None):
    kids = kids if kids is not None else children_of()
    out = []
    for c in kids.get(pid, []):
        out.append(c)
        out += descendants(c, kids)
    return out


def start(args, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(args, start_new_session=True, **kw)
    STARTED.append(p)
    return p


def cleanup():
    kids = children_of()
    pids = []
    for p in STARTED:
        pids += [p.pid] + descendants(p.pid, kids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        for _ in range(20):
            if all(not os.path.exists(f"/proc/{pid}") or zombie(pid) for pid in pids):
                break
            time.sleep(0.1)
    for p in STARTED:
        try:
            p.wait(timeout=1)
        except Exception:
            pass
    shutil.rmtree(T, ignore_errors=True)
    shutil.rmtree(SHM, ignore_errors=True)


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def on_signal(sig, _frame):
    raise SystemExit(128 + sig)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, limit=10):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wait_file(path, needle, limit=15):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            with open(path) as f:
                if needle in f.read():
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"'{needle}' never appeared in {path}")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def cpu_seconds(pid, user_only=False):
    """utime+stime (or utime alone) of a process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + (0 if user_only else int(fields[12]))) / CLK
    except (OSError, IndexError):
        return None


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rollup(pid):
    """Pss and private (clean+dirty) kB from smaps_rollup."""
    pss = priv = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, v = line.split(":", 1)[0], line.split()[1] if len(line.split()) > 1 else "0"
                if k == "Pss":
                    pss = int(v)
                elif k in ("Private_Clean", "Private_Dirty"):
                    priv += int(v)
    except OSError:
        pass
    return pss, priv


# ---------------------------------------------------------------- setup

def setup():
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    env = {}
    bindir = os.path.join(T, "bin")
    os.makedirs(bindir)
    for p in ("converge", "agent", "wsproxy", "tcptows"):
        shutil.copy2(os.path.join(DIST, p), bindir)  # a `make dist` running meanwhile cannot swap them
    env["bin"] = bindir
    home = os.path.join(T, "home")  # remote shells read an empty ~/.bashrc on every path
    os.makedirs(home)
    env["home"] = home
    sd = os.path.join(T, "sshd")
    os.makedirs(sd)
    os.makedirs("/run/sshd", exist_ok=True)
    for k in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(sd, k)], check=True)
    key = os.path.join(sd, "client_key")
    shutil.copy(key + ".pub", os.path.join(sd, "authorized_keys"))
    os.chmod(os.path.join(sd, "authorized_keys"), 0o600)
    env["key"] = key
    port = free_port()
    with open(os.path.join(sd, "sshd_config"), "w") as f:
        f.write(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {sd}/host_key
AuthorizedKeysFile {sd}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin yes
PidFile none
Subsystem sftp internal-sftp
SetEnv HOME={home}
LogLevel ERROR
""")
    start(["/usr/sbin/sshd", "-D", "-e", "-f", os.path.join(sd, "sshd_config")],
          stderr=open(os.path.join(sd, "log"), "w"))
    wait_port(port)
    env["sshd_port"] = port

    socat_port = free_port()
    env["socat_pid"] = start(["socat", f"TCP-LISTEN:{socat_port},bind=127.0.0.1,reuseaddr,fork",
                              f"TCP:127.0.0.1:{port}"]).pid
    wait_port(socat_port)
    env["socat_port"] = socat_port

    wsf_port = free_port()
    env["wsf_pid"] = start(["websockify", f"127.0.0.1:{wsf_port}", f"127.0.0.1:{port}"],
          stdout=open(os.path.join(T, "websockify.log"), "w"), stderr=subprocess.STDOUT).pid
    wait_port(wsf_port)
    env["wsf_port"] = wsf_port

    server_port = free_port()
    env["server"] = f"127.0.0.1:{server_port}"
    jump_port = free_port()
    srv = start([os.path.join(bindir, "converge"), "--listen", env["server"], "--downloads", bindir,
                 "--ssh-listen", f"127.0.0.1:{jump_port}", "--ssh-host-key", os.path.join(T, "jump_host_key")],
                stdout=open(os.path.join(T, "server.log"), "w"), stderr=subprocess.STDOUT)
    wait_port(server_port)
    wait_port(jump_port)
    env["server_pid"] = srv.pid
    # The jump hop's options come from a config file (-o on the command line is for the
    # destination): the outer SSH uses aes128-gcm, whatever the inner one uses.
    env["jump_config"] = os.path.join(T, "jump_ssh_config")
    with open(env["jump_config"], "w") as f:
        f.write(f"""Host converge-jump
  HostName 127.0.0.1
  Port {jump_port}
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  Ciphers aes128-gcm@openssh.com
  KexAlgorithms curve25519-sha256
  Compression no
""")

    job = os.path.join(T, "job")
    os.makedirs(job)
    shutil.copy(key + ".pub", os.path.join(job, ".authorized_keys"))
    open(os.path.join(job, ".hold"), "w").close()
    agent_log = os.path.join(T, "agent.log")
    agent = start([os.path.join(bindir, "agent"), "--id", "bench", "--timeout", "60m", f"ws://{env['server']}"],
                  cwd=job, env=dict(os.environ, HOME=home), stdout=open(agent_log, "w"), stderr=subprocess.STDOUT)
    wait_file(agent_log, "agent ready")
    env["agent_pid"] = agent.pid

    tcptows_port = free_port()
    env["tcptows_pid"] = start([os.path.join(bindir, "tcptows"), "--listen", f"127.0.0.1:{tcptows_port}",
                                f"ws://{env['server']}/client/bench"], stdout=open(os.path.join(T, "tcptows.log"), "w"),
                               stderr=subprocess.STDOUT).pid
    wait_port(tcptows_port)
    env["tcptows_port"] = tcptows_port

    big = os.path.join(SHM, "big")
    subprocess.run(["head", "-c", str(max(MB, AES_MB) * MiB), "/dev/urandom"], stdout=open(big, "wb"), check=True)
    env["big"] = big
    return env


SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "-o", "Compression=no",
            "-o", "KexAlgorithms=curve25519-sha256"]  # libssh (the agent) has no sntrup761: same KEX everywhere

PATHS = ["direct", "tcp relay (socat)", "ws relay (websockify)", "converge wsproxy", "converge tcptows", "converge ssh -J"]


def path_args(env, path, tool):
    """(options, destination) for ssh/sftp on PATH; `tool` is 'ssh' or 'sftp' (port flag)."""
    portflag = "-p" if tool == "ssh" else "-P"
    base = SSH_OPTS + ["-i", env["key"]]
    if path == "direct":
        return base + [portflag, str(env["sshd_port"])], "127.0.0.1"
    if path.startswith("tcp relay"):
        return base + [portflag, str(env["socat_port"])], "127.0.0.1"
    if path.startswith("ws relay"):
        proxy = f"{PY} -W ignore {BENCH}/ws_stdio.py ws://127.0.0.1:{env['wsf_port']}/"
        return base + ["-o", f"ProxyCommand={proxy}"], "127.0.0.1"
    if path == "converge wsproxy":
        proxy = f"{env['bin']}/wsproxy ws://{env['server']}/client/bench"
        return base + ["-o", f"ProxyCommand={proxy}"], "me@localhost"
    if path == "converge tcptows":
        return base + [portflag, str(env["tcptows_port"])], "me@localhost"
    if path == "converge ssh -J":
        return base + ["-F", env["jump_config"], "-J", "converge-jump"], "me@bench"
    raise ValueError(path)


def classify(env, path, client_pid):
    """{role: [pids]} of the processes whose CPU time we charge on PATH: only processes below
    this bench's own server, agent, relays and the sftp client (the machine may be shared)."""
    kids = children_of()

    def tree(pid):
        return {pid, *descendants(pid, kids)}

    server, agent, client = tree(env["server_pid"]), tree(env["agent_pid"]), tree(client_pid)
    socat, wsf, tcptows = tree(env["socat_pid"]), tree(env["wsf_pid"]), tree(env["tcptows_pid"])
    roles = {}
    for pid in server | agent | client | socat | wsf | tcptows:
        c = cmdline(pid)
        role = None
        if path.startswith("tcp relay") and pid in socat:
            role = "relay"
        elif path.startswith("ws relay") and pid in wsf:
            role = "relay"
        elif path.startswith("ws relay") and pid in client and "ws_stdio.py" in c:
            role = "client proxy"
        elif path.startswith("converge") and pid in server and c.startswith("converge: session"):
            role = "server worker"
        elif path.startswith("converge") and pid in agent and c.startswith("agent: relay for"):
            role = "agent relay"
        elif path == "converge wsproxy" and pid in client and os.path.basename(c.split(" ")[0]) == "wsproxy":
            role = "client proxy"
        elif path == "converge tcptows" and pid in tcptows:
            role = "client proxy"
        elif path == "converge ssh -J" and pid in server and c.startswith("converge: jump"):
            role = "jump process"
        elif path == "converge ssh -J" and pid in client and " -W " in f" {c} ":
            role = "client proxy"
        if role:
            roles.setdefault(role, []).append(pid)
    return roles


def cpu_snapshot(roles, user_only=False):
    return {pid: cpu_seconds(pid, user_only) or 0.0 for pids in roles.values() for pid in pids}


def cpu_delta(roles, before, after):
    out = {}
    for role, pids in roles.items():
        out[role] = sum(after.get(p, 0.0) - before.get(p, 0.0) for p in pids)
    return out


# ---------------------------------------------------------------- measurements

class Sftp:
    def __init__(self, env, path, cipher):
        opts, dest = path_args(env, path, "sftp")
        self.p = start(["sftp", "-q", "-c", cipher] + opts + ["-b", "-", dest],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(T, "sftp.err"), "a"),
                       text=True, bufsize=1)
        self.n = 0

    def do(self, line, limit=300):
        self.n += 1
        marker = f"BENCHMARK{self.n}"
        self.p.stdin.write(f"{line}\n!echo {marker}\n")
        self.p.stdin.flush()
        end = time.monotonic() + limit
        while time.monotonic() < end:
            out = self.p.stdout.readline()
            if not out:
                raise RuntimeError(f"sftp ended during: {line} (see {T}/sftp.err)")
            if out.strip() == marker:
                return
        raise RuntimeError(f"sftp timed out: {line}")

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            self.p.wait(timeout=20)
        except Exception:
            self.p.kill()


def bench_sftp(env, path, cipher, mb, results):
    src = env["big"]
    size = mb * MiB
    name = f"{src}.{mb}"
    if not os.path.exists(name):
        os.link(src, name) if mb * MiB == os.path.getsize(src) else subprocess.run(
            ["head", "-c", str(size), src], stdout=open(name, "wb"), check=True)
    for run in range(RUNS):
        s = Sftp(env, path, cipher)
        try:
            s.do("pwd")
            time.sleep(0.2)
            roles = classify(env, path, s.p.pid)
            for direction, cmd in (("get", f"get {name} {SHM}/got"), ("put", f"put {name} {SHM}/put")):
                b, bu = cpu_snapshot(roles), cpu_snapshot(roles, user_only=True)
                t0 = time.perf_counter()
                s.do(cmd)
                dt = time.perf_counter() - t0
                d = cpu_delta(roles, b, cpu_snapshot(roles))
                for role, secs in cpu_delta(roles, bu, cpu_snapshot(roles, user_only=True)).items():
                    results.setdefault((cipher, "cpu-user", path, role), []).append(secs / (size / GiB))
                results.setdefault((cipher, direction, path), []).append(size / dt / 1e6)
                for role, secs in d.items():
                    results.setdefault((cipher, "cpu", path, role), []).append(secs / (size / GiB))
                got = os.path.getsize(f"{SHM}/{direction}" if direction == "put" else f"{SHM}/got")
                if got != size:
                    raise RuntimeError(f"{path} {direction}: {got} bytes instead of {size}")
        finally:
            s.close()
        for f in ("got", "put"):
            try:
                os.unlink(f"{SHM}/{f}")
            except OSError:
                pass
    med = statistics.median(results[(cipher, "get", path)])
    log(f"sftp {cipher} {mb} MiB {path}: get {med:.0f} MB/s, put {statistics.median(results[(cipher, 'put', path)]):.0f} MB/s")


def bench_true(env, path, results):
    opts, dest = path_args(env, path, "ssh")
    cmd = ["ssh", "-c", "chacha20-poly1305@openssh.com"] + opts + [dest, "true"]
    subprocess.run(cmd, check=True, timeout=30)  # warm-up
    for _ in range(TRUE_RUNS):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, timeout=30)
        results.setdefault(("true", path), []).append((time.perf_counter() - t0) * 1000)
    log(f"ssh true {path}: {statistics.median(results[('true', path)]):.1f} ms")


def read_until(fd, needle, limit=20):
    buf = b""
    end = time.monotonic() + limit
    while needle not in buf:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            raise RuntimeError(f"timed out waiting for {needle!r}: {buf[-200:]!r}")
        buf += os.read(fd, 4096)
    return buf


def open_pty_ssh(env, path, remote):
    opts, dest = path_args(env, path, "ssh")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("ssh", ["ssh", "-tt", "-c", "chacha20-poly1305@openssh.com"] + opts + [dest, remote])
    return pid, fd


def close_pty_ssh(pid, fd):
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass
    os.close(fd)


def bench_rtt(env, results):
    """All paths' sessions open at once, sampled round-robin in blocks of 10, so a change
    in machine load or CPU clock during the run hits every path alike."""
    sessions = {}
    try:
        for path in PATHS:
            pid, fd = open_pty_ssh(env, path, "stty raw -echo; echo BENCH-READY; exec cat")
            sessions[path] = (pid, fd)
            read_until(fd, b"BENCH-READY")
            while select.select([fd], [], [], 0.3)[0]:
                os.read(fd, 4096)
        samples = {path: [] for path in PATHS}
        for block in range((RTT_N + 20) // 10):
            for path in PATHS:
                fd = sessions[path][1]
                for _ in range(10):
                    t0 = time.perf_counter_ns()
                    os.write(fd, b"x")
                    got = b""
                    while not got:
                        if not select.select([fd], [], [], 5)[0]:
                            raise RuntimeError(f"{path}: echo lost")
                        got = os.read(fd, 16)
                    if block >= 2:  # the first 20 per path are warm-up
                        samples[path].append((time.perf_counter_ns() - t0) / 1000)
        for path in PATHS:
            xs = sorted(samples[path])
            results[("rtt", path)] = xs
            log(f"rtt {path}: median {statistics.median(xs):.0f} us, p99 {xs[int(len(xs) * 0.99) - 1]:.0f} us")
    finally:
        for pid, fd in sessions.values():
            close_pty_ssh(pid, fd)


def page_times(port, tries=5):
    """Milliseconds to fetch the operator's page (rendered by the master) over loopback."""
    times = []
    auth = base64.b64encode(b"bench:bench-admin-token-0123456789").decode()
    for _ in range(tries):
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(f"GET /sessions HTTP/1.1\r\nHost: bench\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
            body = b""
            while chunk := s.recv(1 << 20):
                body += chunk
        times.append((time.monotonic() - t0) * 1000)
        if b" 200 " not in body[:20]:
            raise RuntimeError(f"/sessions: {body[:80]!r}")
    return times


def bench_scale(env, results):
    bindir = env["bin"]
    port = free_port()
    tokens = os.path.join(T, "admin-tokens")
    with open(tokens, "w") as f:
        f.write("bench-admin-token-0123456789\n")
    srv = start([os.path.join(bindir, "converge"), "--listen", f"127.0.0.1:{port}", "--downloads", bindir,
                 "--admin-token-file", tokens,
                 "--max-waiting-agents", "30000", "--max-connections-per-address", "30000",
                 "--max-sessions", str(max(1000, SESSIONS * 2))],
                stdout=open(os.path.join(T, "scale-server.log"), "w"), stderr=subprocess.STDOUT)
    wait_port(port)
    url = f"http://127.0.0.1:{port}"
    time.sleep(0.5)
    results[("scale", "base")] = status_kb(srv.pid, "VmRSS")
    for n in IDLE:
        c = start([PY, os.path.join(BENCH, "wsload.py"), "idle", url, str(n), f"idle{n}-"],
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = c.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError(f"idle {n}: the load client failed")
        time.sleep(1.0)
        rss = status_kb(srv.pid, "VmRSS")
        hwm = status_kb(srv.pid, "VmHWM")
        results[("scale", "idle", n)] = (rss, hwm, float(line[2]))
        log(f"{n} idle agents: server RSS {rss / 1024:.1f} MB (registered in {line[2]} s)")
        results[("scale", "page", n)] = page_times(port)
        log(f"{n} idle agents: /sessions in {statistics.median(results[('scale', 'page', n)]):.0f} ms")
        c.stdin.close()
        c.wait(timeout=30)
        time.sleep(1.0)

    c = start([PY, os.path.join(BENCH, "wsload.py"), "sessions", url, str(SESSIONS), "sess"],
              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = c.stdout.readline().split()
    if not line or line[0] != "ready":
        raise RuntimeError("sessions: the load client failed")
    time.sleep(1.0)
    workers = [p for p in descendants(srv.pid) if cmdline(p).startswith("converge: session")]
    pss = priv = 0
    for w in workers:
        a, b = rollup(w)
        pss += a
        priv += b
    results[("scale", "sessions")] = (len(workers), priv / max(1, len(workers)), pss / max(1, len(workers)),
                                      status_kb(srv.pid, "VmRSS"))
    log(f"{len(workers)} sessions: private {priv / max(1, len(workers)):.0f} kB, Pss {pss / max(1, len(workers)):.0f} kB each")
    c.stdin.close()
    c.wait(timeout=30)
    time.sleep(1.0)

    out = subprocess.run([PY, os.path.join(BENCH, "wsload.py"), "rate", url, "5", "8", "rate"],
                         capture_output=True, text=True, timeout=60).stdout.split()
    results[("scale", "rate")] = int(out[1]) / float(out[2])
    log(f"pairings: {results[('scale', 'rate')]:.0f}/s")


def bench_agent(env, results):
    agent = os.path.join(env["bin"], "agent")
    results[("agent", "size")] = os.path.getsize(agent)
    results[("agent", "stripped")] = "not stripped" not in subprocess.run(["file", "-L", agent], capture_output=True,
                                                                         text=True).stdout
    job = os.path.join(T, "job")
    times, rss = [], []
    for i in range(RUNS):
        t0 = time.perf_counter()
        p = start([agent, "--id", f"start{i}", "--timeout", "60s", f"ws://{env['server']}"], cwd=job,
                  env=dict(os.environ, HOME=env["home"]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        fd = p.stdout.fileno()
        read_until(fd, b"agent ready")
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.5)
        rss.append(status_kb(p.pid, "VmRSS"))
        p.terminate()
        p.wait(timeout=10)
    results[("agent", "ready")] = times
    results[("agent", "rss idle")] = rss
    # One shell open on the bench agent: its main process plus that session's processes.
    pid, fd = open_pty_ssh(env, "converge wsproxy", "echo BENCH-READY; exec sleep 60")
    try:
        read_until(fd, b"BENCH-READY")
        time.sleep(0.5)
        procs = [env["agent_pid"]] + [p for p in descendants(env["agent_pid"]) if cmdline(p).startswith("agent:")]
        total_rss = sum(status_kb(p, "VmRSS") for p in procs)
        total_pss = sum(rollup(p)[0] for p in procs)
        results[("agent", "shell")] = (len(procs), total_rss, total_pss, status_kb(env["agent_pid"], "VmRSS"))
    finally:
        close_pty_ssh(pid, fd)
    log(f"agent: ready in {statistics.median(times):.0f} ms, RSS idle {statistics.median(rss) / 1024:.1f} MB")


# ---------------------------------------------------------------- report

def fmt_stats(xs, f="{:.0f}"):
    return f"{f.format(statistics.median(xs))} ({f.format(min(xs))}–{f.format(max(xs))})"


def ratio(x, ref):
    return f"{x / ref:.2f}×" if ref else "–"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return cpu


def report(results, env, load_before, started_at):
    rows = []
    add = rows.append
    ciphers = [("chacha20-poly1305@openssh.com", MB), ("aes128-gcm@openssh.com", AES_MB)]
    for cipher, mb in ciphers:
        short = cipher.split("@")[0].split("-")[0]
        for direction in ("get", "put"):
            ref = statistics.median(results[(cipher, direction, "direct")])
            for path in PATHS:
                xs = results.get((cipher, direction, path))
                if not xs:
                    continue
                target = "≥ 0.7× direct" if path == "converge ssh -J" else "≥ 0.8× direct" if path.startswith("converge") else ""
                add((f"sftp {direction} {mb} MiB, {short}, MB/s", path, fmt_stats(xs), ratio(statistics.median(xs), ref),
                     target))
    for cipher, mb in ciphers:
        short = cipher.split("@")[0].split("-")[0]
        for path in PATHS[1:]:
            roles = sorted({k[3] for k in results if k[:3] == (cipher, "cpu", path)})
            relay_total = None
            for role in roles:
                xs = results[(cipher, "cpu", path, role)]
                target = "≤ 1.5 s/GiB (aes128-gcm)" if role == "jump process" else (
                    "" if path == "converge ssh -J" and role == "client proxy" else  # ssh -W: the outer SSH
                    "≤ 0.3 s/GiB" if role == "client proxy" and path.startswith("converge") else (
                    "≤ 0.25 s/GiB (sum)" if path.startswith("converge") else ""))
                user = statistics.median(results[(cipher, "cpu-user", path, role)])
                add((f"CPU s/GiB, {short} sftp get+put: {role}", path,
                     f"{fmt_stats(xs, '{:.2f}')}; user space {user:.2f}", "–", target))
            if path.startswith("converge"):
                n = len(results[(cipher, "cpu", path, "server worker")])
                sums = [results[(cipher, "cpu", path, "server worker")][i] + results[(cipher, "cpu", path, "agent relay")][i]
                        for i in range(n)]
                add((f"CPU s/GiB, {short}: server worker + agent relay", path, fmt_stats(sums, "{:.2f}"), "–",
                     "≤ 0.25 s/GiB"))
    ref = statistics.median(results[("true", "direct")])
    for path in PATHS:
        xs = results.get(("true", path))
        if xs:
            target = "≤ 1.1× direct" if path.startswith("converge") else ""
            if path == "converge ssh -J":
                wsproxy = statistics.median(results[("true", "converge wsproxy")])
                target = f"≤ 1.3× wsproxy (here {statistics.median(xs) / wsproxy:.2f}×)"
            add(("`ssh host true`, ms", path, fmt_stats(xs, "{:.1f}"), ratio(statistics.median(xs), ref), target))
    ref = statistics.median(results[("rtt", "direct")])
    for path in PATHS:
        xs = results.get(("rtt", path))
        if xs:
            med = statistics.median(xs)
            p99 = xs[int(len(xs) * 0.99) - 1]
            add((f"keystroke echo RTT (n={len(xs)}), µs median / p99", path, f"{med:.0f} / {p99:.0f}",
                 f"{ratio(med, ref)} (+{med - ref:.0f} µs)", "≤ direct + 50 µs" if path.startswith("converge") else ""))
    base = results[("scale", "base")]
    add(("server RSS, no agents, MB", "converge", f"{base / 1024:.1f}", "–", ""))
    for n in IDLE:
        rss, hwm, secs = results[("scale", "idle", n)]
        add((f"server RSS with {n:,} idle agents, MB", "converge", f"{rss / 1024:.1f} (peak {hwm / 1024:.1f})", "–",
             "≤ 200 MB" if n >= 10000 else ""))
    for n in IDLE:
        add((f"operator page /sessions with {n:,} agents, ms", "converge", fmt_stats(results[("scale", "page", n)]), "–",
             "≤ 100 ms" if n >= 10000 else ""))
    nw, priv, pss, srv_rss = results[("scale", "sessions")]
    add((f"private RSS per session ({nw} concurrent; worker Private / Pss), kB", "converge",
         f"{priv:.0f} / {pss:.0f}", "–", "≤ 2048 kB"))
    add(("pairings per second (8 IDs × 8 clients, Python client)", "converge", f"{results[('scale', 'rate')]:.0f}", "–", ""))
    size = results[("agent", "size")]
    add(("agent binary, MB" + (" (stripped)" if results[("agent", "stripped")] else " (NOT stripped)"), "agent",
         f"{size / 1e6:.1f}", "–", ""))
    add(("agent exec → 'agent ready' line, ms", "agent", fmt_stats(results[("agent", "ready")], "{:.0f}"), "–", "≤ 100 ms"))
    add(("agent RSS idle, MB", "agent", fmt_stats([x / 1024 for x in results[("agent", "rss idle")]], "{:.1f}"), "–", ""))
    n, rss, pss, main_rss = results[("agent", "shell")]
    add((f"agent RSS with one shell open ({n} agent processes: main + session + relay), MB", "agent",
         f"{rss / 1024:.1f} (Pss {pss / 1024:.1f}; main alone {main_rss / 1024:.1f})", "–", ""))

    head = ["figure", "path", "measured: median (min–max)", "× direct", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(lines)
    load_after = open("/proc/loadavg").read().split()[:3]
    ws_ver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "websockify"], capture_output=True, text=True).stdout
    md = f"""# `make bench` results

Last run: {started_at} (took {time.monotonic() - T_START:.0f} s). Machine: `nproc` = {os.cpu_count()}, {machine()},
kernel {platform.release()}; load average before {' '.join(load_before)}, after {' '.join(load_after)}.
OpenSSH {subprocess.run(['ssh', '-V'], capture_output=True, text=True).stderr.strip()}; websockify {ws_ver or '?'};
ws relay client: bench/ws_stdio.py (Python `websockets`, sync client).

Settings: {RUNS} runs per sftp figure (each run = one sftp session doing get then put, file in /dev/shm);
chacha20-poly1305 with a {MB} MiB file, aes128-gcm with a {AES_MB} MiB file (smaller to stay inside the 10-minute
budget); sftp with default buffers; `ssh true` {TRUE_RUNS} runs after a warm-up (remote shell: bash with an
empty ~/.bashrc on every path); RTT: one byte through `ssh -tt … 'stty raw -echo; exec cat'` from a pty,
{RTT_N} samples per path after 20 warm-up, the six sessions open together
and sampled round-robin in blocks of 10. Key exchange pinned to curve25519-sha256 on every path (libssh has no
sntrup761, OpenSSH's default), host keys ed25519.

Notes: on the converge paths the SSH and sftp server is our agent (libssh + ConvergeSFTP), on the others
OpenSSH `sshd` with `internal-sftp`, so converge figures include a different server, not only the relay.
CPU is utime+stime from /proc/PID/stat before/after each transfer ("user space": utime alone; the rest
is the kernel's TCP/pipe work, which on loopback includes delivering to the next process); "relay" is socat's / websockify's
forked connection process; for converge the server's splice worker (`converge: session …`) and the agent's
`agent: relay for …` (WebSocket ⇄ socketpair pump); "client proxy" is ws_stdio.py / wsproxy / tcptows, and for
`ssh -J` the client's `ssh -W` (the outer SSH, aes128-gcm, whatever the inner cipher); "jump process" is the server's
`converge: jump …` (outer SSH + WebSocket framing of the client leg).
Scale figures use bench/wsload.py (raw asyncio WebSocket client) against a second converge started with
raised limits; RSS is VmRSS of the server's main process; per-session memory is the splice workers'
Private_Clean+Private_Dirty (and Pss) from smaps_rollup divided by the number of workers.
The idle agents send what a real agent says about itself (X-Converge-Agent-* headers), so the RSS counts
the operator view's rows; "operator page" is `GET /sessions` with an admin token, 5 times, timed by the
client from connect to the last byte (rendered by the master, then sent over loopback).

{table}
"""
    with open(OUT, "w") as f:
        f.write(md)
    print(table)
    print(f"\n(written to {os.path.relpath(OUT, ROOT)})")


def main():
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    load_before = open("/proc/loadavg").read().split()[:3]
    started_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    results = {}
    try:
        env = setup()
        log(f"setup done; loopback sshd :{env['sshd_port']}, converge {env['server']}")
        for path in PATHS:
            bench_sftp(env, path, "chacha20-poly1305@openssh.com", MB, results)
        for path in PATHS:
            bench_sftp(env, path, "aes128-gcm@openssh.com", AES_MB, results)
        for path in PATHS:
            bench_true(env, path, results)
        bench_rtt(env, results)
        bench_agent(env, results)
        bench_scale(env, results)
        report(results, env, load_before, started_at)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
