#!/usr/bin/env python3
"""Writes the seed corpora: a few realistic inputs per target, in each target's input
layout (see the comment at the top of each target). Run it again after changing a
layout; `make fuzz` never writes here (it fuzzes a scratch copy)."""
import base64, hashlib, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
WHOLE = bytes([255] * 4)          # split sizes of 256: whole reads
SMALL = bytes([0, 2, 6, 12])      # 1, 3, 7, 13-byte reads: partial heads and frames
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example key...
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # ...and its accept value


def seeds(target, items):
    folder = os.path.join(HERE, target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.remove(os.path.join(folder, name))
    for name, data in items.items():
        with open(os.path.join(folder, "seed-" + name), "wb") as f:
            f.write(data)


def crlf(*lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode, payload, fin=True, mask=None):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n <= 0xFFFF:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if mask:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


def sftp(kind, *fields):
    body = bytes([kind]) + b"".join(fields)
    return struct.pack(">I", len(body)) + body


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def string(b):
    b = b.encode() if isinstance(b, str) else b
    return u32(len(b)) + b


upgrade = lambda path, *extra: crlf(f"GET {path} HTTP/1.1", "Host: converge.example", "Upgrade: websocket",
                                    "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 13", *extra)
seeds("http-request", {
    "docs": b"\0" + WHOLE + crlf("GET / HTTP/1.1", "Host: converge.example:8000", "User-Agent: curl/7.88.1", "Accept: */*"),
    "docs-proxied": b"\0" + SMALL + crlf("GET /docs HTTP/1.0", "Host: 127.0.0.1:8000", "X-Forwarded-Proto: https",
                                         "X-Forwarded-Host: converge.example, other.example", "X-Forwarded-For: 203.0.113.7",
                                         "X-Forwarded-For: 2001:DB8::1, ::ffff:127.0.0.2, 127.0.0.1"),
    "download-head": b"\0" + WHOLE + b"HEAD /docs/agent HTTP/1.1\nHost: converge.example\n\n",
    "agent": b"\0" + SMALL + upgrade("/agent/job-42", "X-Converge-Agent-Key: " + "A1b2" * 10,
                                     "X-Converge-Agent-Token: 0123456789abcdef0123"),
    "client": b"\1" + WHOLE + upgrade("/client/job-42?x=1", "Connection: keep-alive, Upgrade"),
    "bad": b"\2" + WHOLE + crlf("POST /metrics HTTP/1.1", "Host: x", "Content-Length: 5") + b"hello",
    "exe": b"\0" + WHOLE + crlf("GET /docs/agent.exe HTTP/1.1", "Host: converge.example"),
})

refusal = crlf("HTTP/1.1 404 Not Found", "Content-Type: text/plain; charset=utf-8", "Content-Length: 38",
               "Connection: close") + b"no agent is registered under ID job-42\n"
seeds("http-response", {
    "refused-404": b"\0" + SMALL + refusal,
    "refused-409": b"\0" + WHOLE + crlf("HTTP/1.1 409 Conflict", "Content-Type: text/plain") + b"ID job-42 is in use\n",
    "upgrade-101": b"\0" + WHOLE + crlf("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                                        f"Sec-WebSocket-Accept: {ACCEPT}", "X-Converge-User: ci") + b"\x89\x00",
    "keys-200": b"\1" + WHOLE + crlf("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 27")
                + b"ssh-ed25519 AAAAC3Nz alice\n",
    "keys-chunked": b"\1" + SMALL + crlf("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")
                    + b"b\r\nssh-ed25519\r\n4;ext=1\r\n AAA\r\n0\r\n\r\n",
    "keys-redirect": b"\1" + WHOLE + crlf("HTTP/1.1 302 Found", "Location: /octocat.keys?v=2", "Content-Length: 0"),
    "keys-close": b"\1" + WHOLE + b"HTTP/1.0 200 OK\n\nssh-rsa AAAA bob\n",
    "head-101": b"\2" + WHOLE + crlf("HTTP/1.1 101 Switching Protocols", "Upgrade: WebSocket", "Connection: upgrade",
                                     f"Sec-WebSocket-Accept: {ACCEPT}"),
})

ok = lambda *extra: crlf("HTTP/1.1 200 OK", "Content-Type: text/plain", *extra)
seeds("http-body", {
    "length": b"\0" + WHOLE + ok("Content-Length: 27") + b"ssh-ed25519 AAAAC3Nz alice\n",
    "length-extra": b"\0" + SMALL + ok("Content-Length: 5") + b"alice and more",
    "chunked": b"\0" + SMALL + ok("Transfer-Encoding: chunked") + b"b\r\nssh-ed25519\r\n4;ext=1\r\n AAA\r\n0\r\n\r\n",
    "chunked-and-length": b"\1" + WHOLE + ok("Transfer-Encoding: gzip, chunked", "Content-Length: 3")
                          + b"3\r\nabc\r\n 10 \r\n" + bytes(16) + b"\r\n0\r\nTrailer: x\r\n\r\n",
    "close": b"\0" + WHOLE + b"HTTP/1.0 200 OK\n\nssh-rsa AAAA bob\n",
    "too-large": b"\1" + bytes([31, 31, 31, 31]) + ok("Content-Length: 100") + bytes(100),
    "cut-short": b"\0" + WHOLE + ok("Transfer-Encoding: chunked") + b"ffff\r\nabc",
})

MASK = b"\x37\xfa\x21\x3d"
ssh = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
seeds("websocket", {
    "client-masked": b"\0" + SMALL + frame(2, ssh, mask=MASK) + frame(9, b"ping", mask=MASK) + frame(2, bytes(130), mask=MASK),
    "server-plain": bytes([1 + 4]) + SMALL + frame(2, ssh) + frame(10, b"") + frame(8, b"\x03\xe8bye"),
    "agent-fragmented": bytes([2 + 8]) + WHOLE + frame(2, b"abc", fin=False) + frame(9, b"") + frame(0, b"def", fin=False)
                        + frame(0, b"g", mask=MASK),
    "long-frames": bytes([2]) + bytes([255, 255, 3, 7]) + frame(2, bytes(range(256)) + bytes(44))
                   + bytes([0x82, 127]) + u64(70000) + bytes(64),
    "too-big": bytes([1]) + WHOLE + frame(2, bytes(200)),
    "session-message": bytes([3]) + SMALL + frame(9, b"") + frame(1, b"session client=203.0.113.7:51234")
                       + frame(2, b"x" * 70000)[:64],
    "messages": bytes([7]) + WHOLE + frame(1, b"sess", fin=False) + frame(0, b"ion") + frame(8, b"\x03\xe8"),
})

hand_off = b"".join(u32(len(f)) + f for f in [b"job-42", b"203.0.113.7:51234", frame(2, b"SSH-", mask=MASK), b""])
seeds("agent-leg", {
    "session": b"\0session client=203.0.113.7:51234 v=1",
    "session-bare": b"\0session",
    "hand-off": b"\1" + hand_off,
    "report-bytes": b"\2bytes 1024 65536",
    "report-end": b"\2end 5 6 agent closed the connection",
    "login": b"\3login 1700000000.25 publickey SHA256:3sP0qJtC4Hh7xbk6mE2Yk4d8vA1Tq9Yc8mZb7Q2Xx0o alice",
    "login-password": b"\3login 1700000000.0 password - ci user",
    "expiry": b"\3expiry 1700001800.0",
    "warn": b"\3warn converge: the session expires in 5m",
    "logout": b"\3logout",
})

attrs_none = u32(0)
attrs_mode = u32(0x4) + u32(0o644)
stream = (sftp(1, u32(3))
          + sftp(3, u32(1), string("notes.txt"), u32(0x1A), attrs_mode)      # OPEN write|creat|trunc
          + sftp(6, u32(2), string(u32(0)), u64(0), string("hello\n"))      # WRITE handle 0
          + sftp(8, u32(3), string(u32(0)))                                   # FSTAT
          + sftp(4, u32(4), string(u32(0)))                                   # CLOSE
          + sftp(3, u32(5), string("notes.txt"), u32(0x1), attrs_none)       # OPEN read
          + sftp(5, u32(6), string(u32(1)), u64(0), u32(4096)))             # READ
dirs = (sftp(14, u32(1), string("d"), attrs_none) + sftp(11, u32(2), string("d")) + sftp(12, u32(3), string(u32(0)))
        + sftp(16, u32(4), string(".")) + sftp(18, u32(5), string("d"), string("e"))
        + sftp(200, u32(6), string("posix-rename@openssh.com"), string("e"), string("f"))
        + sftp(20, u32(7), string("f"), string("link")) + sftp(19, u32(8), string("link")) + sftp(15, u32(9), string("f")))
ext = (sftp(200, u32(1), string("statvfs@openssh.com"), string("."))
       + sftp(200, u32(2), string("limits@openssh.com"))
       + sftp(200, u32(3), string("expand-path@openssh.com"), string("x/./y"))
       + sftp(9, u32(4), string("x"), u32(0xF) + u64(10) + u32(0) + u32(0) + u32(0o600) + u32(1) + u32(2))
       + sftp(99, u32(5)))
seeds("sftp", {
    "files": b"\1" + SMALL + stream,
    "dirs": b"\1" + WHOLE + dirs,
    "extensions": b"\1" + WHOLE + ext,
    "decode-only": b"\0" + bytes([3, 0, 40, 255]) + stream + dirs,
    "too-long": b"\0" + WHOLE + u32(5000) + b"x" * 20,
})

# Throwaway public keys (ssh-keygen; the private halves were never kept).
keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFnZTT6bwk5ClTf4Avz3r3MNqDvEEjX3vfa7RR39F86o alice@laptop",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBDd+ZFrtGQjQQHa26Pkfi3jViZ006nJlTO7htKpLjrPKkCil+lIadhQ1dPbbFF0oY26mFAO7xH39IxFgqRoDw0= ci key",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDDWuqQyLltP8H4PA2TrLeMhMNlOqLNzGp8C/pwMIbSp+iVJAS4SioYiV2H6+38O6r+gO5eb3mNEOm0wDpvtHGbzA0DkqUZfE7keJ32U4c5+zNv0twyeVyAh8dZb92g7fOwTiseVvJ4F4QUYZzWq0SbLzz2YbTwtGhQWsZeaoAPDw==",
]
seeds("authorized-keys", {
    "plain": ("\n".join(keys) + "\n").encode(),
    "options-crlf": ("# team keys\r\n" + 'no-pty,from="10.0.0.0/8,192.168.1.1" ' + keys[0] + "\r\n"
                     + "restrict " + keys[1] + "\r\n\r\n").encode(),
    "bad-lines": ("ssh-dss AAAAB3NzaC1kc3M= old\nssh-ed25519-cert-v01@openssh.com AAAA cert\n"
                  + "ssh-ed25519 not-base64!\nssh-rsa " + keys[0].split()[1] + " mismatched type\n"
                  + "command=\"echo \\\"hi\\\"\" " + keys[1] + "\n").encode(),
    "options-enforced": ('from="!10.1.2.3,10.0.0.0/8,192.0.2.*,2001:db8::/32",command="echo \\"forced\\"" ' + keys[0] + "\n"
                         + 'restrict,pty,permitopen="localhost:5432",permitopen="[::1]:*" ' + keys[1] + "\n"
                         + 'expiry-time="20300101Z",environment="A_B=c d",no-touch-required ' + keys[0] + "\n"
                         + 'bogus-option ' + keys[1] + "\n").encode(),
})

seeds("urls", {
    "ws": b"\0ws://converge.example:8000",
    "wss-path": b"\0wss://user@converge.example/prefix/?q=1#frag",
    "ipv6": b"\0ws://[::1]:8000/",
    "keys-url": b"\1https://github.com/octocat.keys",
    "redirect": b"\1/octocat.keys?v=2",
    "proxy": b"\2http://user:p%40ss@proxy.example:3128/\nlocalhost,.example.com,127.0.0.1:443,[::1]",
    "listen": b"\3127.0.0.1:10000",
    "listen-ipv6": b"\3[::1]:8000",
})

salt = bytes(range(16))
digest = hashlib.pbkdf2_hmac("sha256", b"correct horse", salt, 1000)
seeds("secrets", {
    "tokens": b"\0# CI tokens\n0123456789abcdef0123\r\n  tab\ttoken-is-long-enough  \n\n",
    "hash": b"\1pbkdf2-sha256$600000$" + base64.b64encode(salt) + b"$" + base64.b64encode(digest),
    "hash-small": b"\1pbkdf2-sha256$1000$AAAAAAAAAAA=$" + base64.b64encode(digest),
    "base64": b"\2" + KEY.encode(),
})
