"""The raw-socket limit of each command kind: the same bytes a driver sends, over a plain TCP socket
with Nagle off, read back by hand — no library, no decoding. What the driver costs on top of this is
bumpline's and its libraries' own time; what this costs is the loopback and the simulator."""
from __future__ import annotations

import itertools
import socket
import struct
from collections.abc import Callable


def connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=3)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def scpi(sock: socket.socket, *lines: str) -> Callable[[], bytes]:
    """Lines sent in one segment and the one-line reply to the last: a query (`*IDN?`), or a
    command followed by `SYST:ERR?` as the driver sends it."""
    reader = sock.makefile("rb")
    data = "".join(f"{line}\n" for line in lines).encode()

    def call() -> bytes:
        sock.sendall(data)
        return reader.readline()
    return call


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("peer closed")
        out += chunk
    return out


def _mbap_reply(sock: socket.socket) -> bytes:
    head = _recv_exact(sock, 7)
    (length,) = struct.unpack(">H", head[4:6])
    return _recv_exact(sock, length - 1)


def modbus_read(sock: socket.socket, address: int, count: int, unit: int = 1) -> Callable[[], bytes]:
    """FC3 read holding registers, MBAP framed by hand."""
    pdu = struct.pack(">BHH", 3, address, count)

    def call(tid: list[int] = [0]) -> bytes:  # noqa: B006 - a counter kept between calls on purpose
        tid[0] = (tid[0] + 1) & 0xFFFF
        sock.sendall(struct.pack(">HHHB", tid[0], 0, len(pdu) + 1, unit) + pdu)
        return _mbap_reply(sock)
    return call


def modbus_write(sock: socket.socket, address: int, values: list[int], unit: int = 1) -> Callable[[], bytes]:
    """FC16 write multiple registers, MBAP framed by hand."""
    pdu = struct.pack(f">BHHB{len(values)}H", 16, address, len(values), 2 * len(values), *values)

    tids = itertools.count(1)

    def call() -> bytes:
        tid = next(tids) & 0xFFFF
        sock.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
        return _mbap_reply(sock)
    return call
