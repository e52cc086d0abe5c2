#!/usr/bin/env python3
"""A stand-in for the agent, speaking docs/protocol.md independently of our Swift code.

It keeps one connection offered under ID; when the server pairs a client with it
(a text frame "session ..."), it offers a new one and bridges the paired connection to
a TCP server (the test's sshd, or an echo server). From the `session` frame on it is the
client's RFC 6455 server, played by the `websockets` library's own protocol engine
(sans-I/O: it checks the client's masking, answers pings and closes). Used to prove the
server's pipe and as a second implementation of the agent leg.

usage: standin_agent.py ws://HOST:PORT ID TCPHOST:TCPPORT
"""
import asyncio
import base64
import os
import secrets
import struct
import sys

from websockets.frames import Opcode
from websockets.protocol import Protocol, Side, State

URL, ID, TARGET = sys.argv[1], sys.argv[2], sys.argv[3]
KEY = secrets.token_hex(20)


def frame(opcode, payload=b""):
    """An unmasked frame, as the real agent sends them (docs/protocol.md)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


async def read_frame(reader):
    """One frame from the server while offered (unmasked): (opcode, payload)."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    if b1 & 0x80:
        raise ValueError("masked frame from the server")
    return b0 & 0x0F, await reader.readexactly(n)


async def offer(host, port):
    """Upgrades to /agent/ID and waits for `session`; returns the paired streams."""
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /agent/{ID} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"X-Converge-Agent-Key: {KEY}\r\n\r\n").encode())
    status = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")[0]
    if b" 101 " not in status:
        raise OSError(f"not upgraded: {status.decode(errors='replace')}")
    print("offered", flush=True)
    while True:
        opcode, payload = await read_frame(reader)
        if opcode == Opcode.PING:
            writer.write(frame(Opcode.PONG, payload))
        elif opcode == Opcode.TEXT and payload.startswith(b"session"):
            print(f"paired: {payload.decode()}", flush=True)
            return reader, writer
        elif opcode == Opcode.CLOSE:
            raise OSError("server closed the offered connection")


async def bridge(reader, writer, target_host, target_port):
    """The client's WebSocket server on one side, a TCP connection on the other."""
    protocol = Protocol(Side.SERVER, state=State.OPEN, max_size=None)
    tcp_reader, tcp_writer = await asyncio.open_connection(target_host, target_port)

    def flush():
        for data in protocol.data_to_send():
            if data:
                writer.write(data)
            elif writer.can_write_eof():
                writer.write_eof()  # the engine's way of saying: close the TCP connection

    async def client_to_tcp():
        while not protocol.close_expected():
            data = await reader.read(65536)
            if not data:
                protocol.receive_eof()
                break
            protocol.receive_data(data)
            for event in protocol.events_received():
                if event.opcode in (Opcode.BINARY, Opcode.TEXT, Opcode.CONT):
                    tcp_writer.write(event.data)
            flush()
            await tcp_writer.drain()
        tcp_writer.close()

    async def tcp_to_client():
        while protocol.state is State.OPEN:
            data = await tcp_reader.read(65536)
            if not data:
                protocol.send_close(1000)
                break
            protocol.send_binary(data)
            flush()
            await writer.drain()
        flush()

    tasks = [asyncio.ensure_future(client_to_tcp()), asyncio.ensure_future(tcp_to_client())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0.2)  # let a close frame go out
    for task in tasks:
        task.cancel()
    writer.close()
    tcp_writer.close()


async def offer_forever():
    host, port = URL.removeprefix("ws://").rsplit(":", 1)
    target_host, target_port = TARGET.rsplit(":", 1)
    while True:
        try:
            reader, writer = await offer(host, int(port))
        except (OSError, ValueError, asyncio.IncompleteReadError) as error:
            # Server gone or restarting: sessions being bridged go on; offer again soon.
            print(f"offer failed: {error}", flush=True)
            await asyncio.sleep(0.5)
            continue
        asyncio.ensure_future(bridge(reader, writer, target_host, int(target_port)))


asyncio.run(offer_forever())
