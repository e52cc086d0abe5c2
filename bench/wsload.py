#!/usr/bin/env python3
"""The bench's light WebSocket load client (raw asyncio, no library: 10,000 connections
must stay cheap on the client side too).

  wsload.py idle URL N PREFIX           register N idle agents PREFIX0..PREFIXn-1, print
                                        "ready N SECONDS", hold them until stdin closes
  wsload.py sessions URL N PREFIX       N agents + N paired clients, a 4 KiB frame through
                                        each pair, print "ready N", hold until stdin closes
  wsload.py rate URL SECONDS PAR PREFIX PAR agent IDs that keep offering and PAR client
                                        loops pairing with them; prints "pairings N SECONDS"

URL is http://HOST:PORT of the converge server.
"""
import asyncio
import base64
import os
import secrets
import sys
import time


def parse(url):
    hostport = url.split("://", 1)[1].rstrip("/")
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


async def upgrade(host, port, path, headers=()):
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += list(headers)
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status != b"101":
        writer.close()
        raise RuntimeError(f"{path}: {head.splitlines()[0].decode(errors='replace')}")
    return reader, writer


def frame(opcode, payload, mask):
    head = bytes([0x80 | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([m | 127]) + n.to_bytes(8, "big")
    if mask:
        k = os.urandom(4)
        payload = bytes(b ^ k[i % 4] for i, b in enumerate(payload))
        return head + k + payload
    return head + payload


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    k = await reader.readexactly(4) if b1 & 0x80 else None
    data = await reader.readexactly(n)
    if k:
        data = bytes(b ^ k[i % 4] for i, b in enumerate(data))
    return b0 & 0x0F, data


async def read_data_frame(reader, writer, masked_pongs):
    while True:
        op, data = await read_frame(reader)
        if op == 9:  # ping: answer it
            writer.write(frame(10, data, masked_pongs))
            continue
        if op == 10:
            continue
        return op, data


def agent_headers(key):
    # What a real agent tells the server about itself (docs/protocol.md), so the memory
    # figure counts the operator view's rows at their usual size.
    return [f"X-Converge-Agent-Key: {key}", "X-Converge-Agent-Version: converge-agent 0.1",
            "X-Converge-Agent-Host: runner-0123456789abcdef",
            "X-Converge-Agent-OS: Debian GNU/Linux 12 (bookworm), Linux 6.1.0-18-amd64 x86_64",
            "X-Converge-Agent-User: runner", "X-Converge-Agent-Directory: /home/runner/work/project/project",
            "X-Converge-Agent-Job-URL: https://github.com/example/project/actions/runs/1234567890",
            f"X-Converge-Agent-Wait-Until: {int(time.time()) + 1800}"]


async def hold_until_stdin_closes():
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


async def idle(url, n, prefix):
    host, port = parse(url)
    sem = asyncio.Semaphore(200)
    conns = []

    async def one(i):
        async with sem:
            r, w = await upgrade(host, port, f"/agent/{prefix}{i}", agent_headers(secrets.token_hex(20)))
            conns.append((r, w))

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(n)))
    print(f"ready {len(conns)} {time.monotonic() - t0:.2f}", flush=True)
    await hold_until_stdin_closes()


async def sessions(url, n, prefix):
    host, port = parse(url)
    sem = asyncio.Semaphore(50)
    pairs = []

    async def one(i):
        async with sem:
            ar, aw = await upgrade(host, port, f"/agent/{prefix}{i}", agent_headers(secrets.token_hex(20)))
            cr, cw = await upgrade(host, port, f"/client/{prefix}{i}")
            op, data = await read_data_frame(ar, aw, False)
            assert op == 1 and data.startswith(b"session"), (op, data)
            payload = os.urandom(4096)
            cw.write(frame(2, payload, True))
            got = b""
            while len(got) < len(payload):
                op, data = await read_data_frame(ar, aw, False)
                got += data
            assert got == payload
            aw.write(frame(2, payload, False))
            got = b""
            while len(got) < len(payload):
                op, data = await read_data_frame(cr, cw, True)
                got += data
            assert got == payload
            pairs.append((ar, aw, cr, cw))

    await asyncio.gather(*(one(i) for i in range(n)))
    print(f"ready {len(pairs)}", flush=True)
    await hold_until_stdin_closes()


async def rate(url, seconds, par, prefix):
    host, port = parse(url)
    deadline = time.monotonic() + seconds
    count = 0
    stop = False

    async def agent(i):
        key = secrets.token_hex(20)
        while not stop:
            r, w = await upgrade(host, port, f"/agent/{prefix}{i}", agent_headers(key))
            op, data = await read_data_frame(r, w, False)
            w.close()

    async def client(i):
        nonlocal count
        while time.monotonic() < deadline:
            try:
                r, w = await upgrade(host, port, f"/client/{prefix}{i}")
            except RuntimeError:
                await asyncio.sleep(0.001)
                continue
            w.close()
            count += 1

    agents = [asyncio.ensure_future(agent(i)) for i in range(par)]
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    deadline = t0 + seconds
    await asyncio.gather(*(client(i) for i in range(par)))
    elapsed = time.monotonic() - t0
    stop = True
    for a in agents:
        a.cancel()
    print(f"pairings {count} {elapsed:.3f}", flush=True)


def main():
    mode = sys.argv[1]
    if mode == "idle":
        asyncio.run(idle(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    elif mode == "sessions":
        asyncio.run(sessions(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    elif mode == "rate":
        asyncio.run(rate(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
