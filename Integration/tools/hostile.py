#!/usr/bin/env python3
"""Hostile connections for 43-hostile-load.sh; each mode prints one line per finding.

  hostile.py slowloris HOST:PORT N SECONDS   N connections that send a request head one
        header line per second for up to SECONDS; prints "slowloris opened N closed M
        status408 K longest S" (S: the longest any stayed open).
  hostile.py rogue-client HOST:PORT ID       for each kind of bad frame, a client of agent
        ID that sends it right after the 101; prints "rogue-client KIND closed-after S".
  hostile.py rogue-agent HOST:PORT PREFIX    for each kind of bad frame, an agent offering
        under PREFIX-KIND that sends it; prints "rogue-agent KIND closed-after S".
  hostile.py hold HOST:PORT N SECONDS        N connections that send nothing and stay open
        for SECONDS; prints "hold opened N status503 K open M" (K: answered 503 out of
        descriptors, M: still open at the end), then closes them all.

S is "never" when the server kept the connection open for 10 s.
The WebSocket handshake and frame helpers are bench/wsload.py's.
"""
import asyncio
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import wsload  # noqa: E402


def header(opcode, length, masked, fin=True, rsv=0):
    """A frame head with any (even illegal) opcode, length and flags."""
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    m = 0x80 if masked else 0
    if length < 126:
        head += bytes([m | length])
    elif length < 65536:
        head += bytes([m | 126]) + length.to_bytes(2, "big")
    else:
        head += bytes([m | 127]) + length.to_bytes(8, "big")
    return head + (os.urandom(4) if masked else b"")


def bad_frames(masked):
    """Each kind of frame RFC 6455 forbids (or a server must refuse), by name."""
    frames = {
        "reserved-data-opcode-3": header(0x3, 5, masked) + b"hello",
        "reserved-control-opcode-B": header(0xB, 0, masked),
        "length-2.63": header(0x2, 1 << 63, masked),
        "length-2.62": header(0x2, 1 << 62, masked),
        "control-frame-of-126-bytes": header(0x9, 126, masked) + bytes(126),
        "fragmented-ping": header(0x9, 0, masked, fin=False),
        "rsv1-without-extension": header(0x2, 1, masked, rsv=0x40) + b"x",
        "continuation-first": header(0x0, 1, masked) + b"x",
    }
    if masked:  # a client must mask: an unmasked frame from one is a protocol error
        frames["unmasked-from-a-client"] = header(0x2, 5, False) + b"hello"
    return frames


async def closed_after(reader, writer, payload, limit=10.0):
    """Sends payload, then reads until the server closes; seconds it took, or None."""
    t0 = time.monotonic()
    writer.write(payload)
    try:
        while True:
            left = limit - (time.monotonic() - t0)
            if left <= 0 or not await asyncio.wait_for(reader.read(65536), left):
                break
    except ConnectionError:
        pass  # a reset is a close too
    except asyncio.TimeoutError:
        return None
    finally:
        writer.close()
    elapsed = time.monotonic() - t0
    return elapsed if elapsed < limit else None


def show(seconds):
    return "never" if seconds is None else f"{seconds:.2f}"


async def rogue_client(host, port, ident):
    for kind, payload in bad_frames(masked=True).items():
        reader, writer = await wsload.upgrade(host, port, f"/client/{ident}")
        print(f"rogue-client {kind} closed-after {show(await closed_after(reader, writer, payload))}", flush=True)


async def rogue_agent(host, port, prefix):
    for kind, payload in bad_frames(masked=False).items():
        reader, writer = await wsload.upgrade(host, port, f"/agent/{prefix}-{kind}",
                                              wsload.agent_headers(secrets.token_hex(20)))
        print(f"rogue-agent {kind} closed-after {show(await closed_after(reader, writer, payload))}", flush=True)


async def slowloris(host, port, n, seconds):
    results = []

    async def one(i):
        reader, writer = await asyncio.open_connection(host, port)
        t0 = time.monotonic()
        writer.write(b"GET / HTTP/1.1\r\nHost: slow\r\n")
        answer = b""
        try:
            while time.monotonic() - t0 < seconds:
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), 1)
                    if not chunk:
                        break
                    answer += chunk
                except asyncio.TimeoutError:
                    writer.write(f"X-Slow-{i}: {int(time.monotonic() - t0)}\r\n".encode())
        except ConnectionError:
            pass
        held = time.monotonic() - t0
        writer.close()
        results.append((held, answer.startswith(b"HTTP/1.1 408"), held < seconds))

    await asyncio.gather(*(one(i) for i in range(n)))
    closed = sum(1 for r in results if r[2])
    status408 = sum(1 for r in results if r[1])
    print(f"slowloris opened {len(results)} closed {closed} status408 {status408} longest {max(r[0] for r in results):.2f}", flush=True)


async def hold(host, port, n, seconds):
    deadline = time.monotonic() + seconds
    results = []

    async def one():
        reader, writer = await asyncio.open_connection(host, port)
        answer = b""
        still_open = True
        try:
            while time.monotonic() < deadline:
                chunk = await asyncio.wait_for(reader.read(4096), deadline - time.monotonic())
                if not chunk:
                    still_open = False
                    break
                answer += chunk
        except (ConnectionError, asyncio.TimeoutError):
            pass
        results.append((answer.startswith(b"HTTP/1.1 503") and b"out of file descriptors" in answer, still_open))
        return writer

    writers = await asyncio.gather(*(one() for _ in range(n)))
    print(f"hold opened {len(results)} status503 {sum(r[0] for r in results)} open {sum(r[1] for r in results)}", flush=True)
    for writer in writers:
        writer.close()


def main():
    mode, hostport = sys.argv[1], sys.argv[2]
    host, port = wsload.parse("ws://" + hostport)
    if mode == "slowloris":
        asyncio.run(slowloris(host, port, int(sys.argv[3]), float(sys.argv[4])))
    elif mode == "rogue-client":
        asyncio.run(rogue_client(host, port, sys.argv[3]))
    elif mode == "rogue-agent":
        asyncio.run(rogue_agent(host, port, sys.argv[3]))
    elif mode == "hold":
        asyncio.run(hold(host, port, int(sys.argv[3]), float(sys.argv[4])))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
