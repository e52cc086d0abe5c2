#!/usr/bin/env python3
"""Profiles the converge path's relay processes during an sftp get + put (not part of
`make bench`): perf record (cpu-clock, works in VMs without hardware counters) on the
server's splice worker, the agent's relay process, the agent's SSH session process and
wsproxy, then the top symbols per process.

  DIST=DIR-with-UNSTRIPPED-binaries BENCH_MB=256 python3 bench/profile.py [OUTDIR]

Unstripped binaries: .build-static/release/{agent,wsproxy,tcptows} and .build/release/converge.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

OUTDIR = sys.argv[1] if len(sys.argv) > 1 else "/tmp/converge-profile"
CIPHER = os.environ.get("BENCH_CIPHER", "chacha20-poly1305@openssh.com")


def main():
    os.makedirs(OUTDIR, exist_ok=True)
    try:
        env = bench.setup()
        path = os.environ.get("BENCH_PATH", "converge wsproxy")
        name = env["big"]
        size = bench.MB * bench.MiB
        s = bench.Sftp(env, path, CIPHER)
        try:
            s.do("pwd")
            time.sleep(0.2)
            roles = bench.classify(env, path, s.p.pid)
            for pid in bench.descendants(env["agent_pid"]):
                if bench.cmdline(pid).startswith("agent: session for"):
                    roles.setdefault("agent ssh session", []).append(pid)
            print(roles, flush=True)
            pids = ",".join(str(p) for ps in roles.values() for p in ps)
            data = os.path.join(OUTDIR, "perf.data")
            perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "--call-graph", "fp",
                                     "-o", data, "-p", pids], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            b = bench.cpu_snapshot(roles)
            t0 = time.perf_counter()
            s.do(f"get {name} {bench.SHM}/got")
            s.do(f"put {name} {bench.SHM}/put")
            dt = time.perf_counter() - t0
            d = bench.cpu_delta(roles, b, bench.cpu_snapshot(roles))
            perf.send_signal(2)
            perf.wait(timeout=60)
            print(f"{2 * size / dt / 1e6:.0f} MB/s; CPU s/GiB: " +
                  ", ".join(f"{k} {v / (2 * size / bench.GiB):.2f}" for k, v in d.items()), flush=True)
        finally:
            s.close()
        for role, ps in roles.items():
            for pid in ps:
                rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "-g", "none",
                                      "--pid", str(pid), "--percentage", "relative", "--sort", "dso,sym",
                                      "--percent-limit", "1.5"],
                                     capture_output=True, text=True).stdout
                lines = [l for l in rep.splitlines() if l.strip() and not l.startswith("#")]
                out = f"== {role} (pid {pid})\n" + "\n".join(lines[:18])
                print(out, flush=True)
                with open(os.path.join(OUTDIR, "top.txt"), "a") as f:
                    f.write(out + "\n")
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
