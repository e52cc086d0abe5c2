#!/usr/bin/env python3
"""A standard stdio <-> WebSocket ProxyCommand (the reference for wsproxy), built on the
`websockets` library: ssh -o ProxyCommand='ws_stdio.py ws://HOST:PORT/' ..."""
import os
import sys
import threading

from websockets.sync.client import connect

ws = connect(sys.argv[1], max_size=None, compression=None, subprotocols=["binary"])


def stdin_to_ws():
    try:
        while True:
            data = os.read(0, 65536)
            if not data:
                break
            ws.send(data)
    finally:
        ws.close()


threading.Thread(target=stdin_to_ws, daemon=True).start()
try:
    for message in ws:
        data = message if isinstance(message, bytes) else message.encode()
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]
except Exception:
    pass
