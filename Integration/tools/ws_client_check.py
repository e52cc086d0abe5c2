#!/usr/bin/env python3
"""An independent RFC 6455 client (Python's websockets) against converge's client leg.

Connects to ws://SERVER/client/ID, whose agent bridges to a TCP echo server, and checks
that bytes come back exact, in frames of many sizes, that ping gets pong, and that a
close is answered. Exits 0 when all holds, prints one line per failure otherwise.

usage: ws_client_check.py ws://HOST:PORT ID
"""
import asyncio
import os
import sys

import websockets


async def main(url, ident):
    failures = []
    async with websockets.connect(f"{url}/client/{ident}", max_size=None, ping_interval=None) as ws:
        for size in (1, 125, 126, 65535, 65536, 1 << 20):
            payload = os.urandom(size)
            await ws.send(payload)
            got = b""
            while len(got) < size:
                got += await asyncio.wait_for(ws.recv(), 10)
            if got != payload:
                failures.append(f"echo of {size} bytes differs")
        pong = await ws.ping(b"are you there")
        try:
            await asyncio.wait_for(pong, 5)
        except asyncio.TimeoutError:
            failures.append("no pong for a ping")
        await ws.close()
        if ws.close_code is None:
            failures.append("close not answered")
    for failure in failures:
        print(failure)
    return 1 if failures else 0


sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
