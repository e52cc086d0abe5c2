#!/usr/bin/env python3
"""A tap on the agent leg: ws_tap.py LISTEN_PORT UPSTREAM_PORT DIR.

Listens on 127.0.0.1:LISTEN_PORT and forwards each connection to 127.0.0.1:UPSTREAM_PORT
(an agent dials the tap instead of the server). It writes what it sees, per connection N:
DIR/N.raw (both directions as they crossed, concatenated) and DIR/N.payload (the
payload of every WebSocket frame the server sent the agent, unmasked: what the person's
client sent, which the tests read for the client's SSH banner and search for secrets).
"""
import os
import socket
import struct
import sys
import threading


def frames(data):
    """Payloads of the complete frames in `data` (after the HTTP head), unmasked."""
    payloads = []
    i = 0
    while i + 2 <= len(data):
        b1 = data[i + 1]
        length = b1 & 0x7F
        j = i + 2
        if length == 126:
            if j + 2 > len(data):
                break
            length = struct.unpack(">H", data[j:j + 2])[0]
            j += 2
        elif length == 127:
            if j + 8 > len(data):
                break
            length = struct.unpack(">Q", data[j:j + 8])[0]
            j += 8
        key = None
        if b1 & 0x80:
            key = data[j:j + 4]
            j += 4
        if j + length > len(data):
            break
        payload = bytearray(data[j:j + length])
        if key:
            for k in range(len(payload)):
                payload[k] ^= key[k % 4]
        payloads.append(bytes(payload))
        i = j + length
    return payloads


def pump(src, dst, seen, lock):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            with lock:
                seen.append(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(n, agent, upstream_port, out):
    server = socket.create_connection(("127.0.0.1", upstream_port))
    to_server, to_agent = [], []
    lock = threading.Lock()
    threads = [threading.Thread(target=pump, args=(agent, server, to_server, lock)),
               threading.Thread(target=pump, args=(server, agent, to_agent, lock))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    down = b"".join(to_agent)
    head_end = down.find(b"\r\n\r\n")
    with open(os.path.join(out, "%d.raw" % n), "wb") as f:
        f.write(b"".join(to_server) + down)
    with open(os.path.join(out, "%d.payload" % n), "wb") as f:
        f.write(b"".join(frames(down[head_end + 4:])) if head_end >= 0 else b"")


def main():
    listen_port, upstream_port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    n = 0
    while True:
        agent, _ = listener.accept()
        n += 1
        threading.Thread(target=serve, args=(n, agent, upstream_port, out), daemon=True).start()


if __name__ == "__main__":
    main()
