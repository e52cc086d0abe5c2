#!/usr/bin/env python3
"""A stand-in for the agent, speaking docs/protocol.md with a stock WebSocket library.

It keeps one connection offered under ID; when the server pairs a client with it
(a text frame "session ..."), it offers a new one and bridges the paired connection to
a TCP server (the test's sshd). Used to prove the server's pipe before the real agent
exists, and as an independent implementation of the agent leg.

usage: standin_agent.py ws://HOST:PORT ID TCPHOST:TCPPORT
"""
import asyncio
import secrets
import sys

import websockets

URL, ID, TARGET = sys.argv[1], sys.argv[2], sys.argv[3]
KEY = secrets.token_hex(20)


async def bridge(ws, target_host, target_port):
    reader, writer = await asyncio.open_connection(target_host, target_port)

    async def ws_to_tcp():
        async for message in ws:
            writer.write(message if isinstance(message, bytes) else message.encode())
            await writer.drain()
        writer.close()

    async def tcp_to_ws():
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await ws.send(data)
        await ws.close()

    done, pending = await asyncio.wait(
        [asyncio.ensure_future(ws_to_tcp()), asyncio.ensure_future(tcp_to_ws())],
        return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


async def offer_once(host, port):
    """Offers one connection and, once it is paired, bridges it in the background."""
    try:
        ws = await websockets.connect(f"{URL}/agent/{ID}", additional_headers={"X-Converge-Agent-Key": KEY},
                                      max_size=None, ping_interval=20)
    except TypeError:  # older websockets spell it extra_headers
        ws = await websockets.connect(f"{URL}/agent/{ID}", extra_headers={"X-Converge-Agent-Key": KEY},
                                      max_size=None, ping_interval=20)
    print("offered", flush=True)
    first = await ws.recv()
    if not (isinstance(first, str) and first.startswith("session")):
        print(f"unexpected first frame: {first!r}", flush=True)
        sys.exit(1)
    print(f"paired: {first}", flush=True)
    asyncio.ensure_future(bridge(ws, host, int(port)))


async def offer_forever():
    host, port = TARGET.rsplit(":", 1)
    while True:
        try:
            await offer_once(host, port)
        except (OSError, websockets.exceptions.WebSocketException) as error:
            # Server gone or restarting: sessions being bridged go on; offer again soon.
            print(f"offer failed: {error}", flush=True)
            await asyncio.sleep(0.5)


asyncio.run(offer_forever())
