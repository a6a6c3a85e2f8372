"""TCP_NODELAY on every control connection, host side and tool side.

A SCPI command is a write followed by `SYST:ERR?`: two small segments back to back. With Nagle's
algorithm on, the second waits for the peer's delayed ACK — 44 ms per command on loopback, against
0.1 ms with it off. pyvisa-py opens its sockets with Nagle on and its `VI_ATTR_TCPIP_NODELAY` setter
is not wired to the socket (0.8.1 registers a no-op setter), and pymodbus' sync client does not set
it either, so the transports set it on the socket itself after connecting.
"""
from __future__ import annotations

import socket


def set_nodelay(sock: socket.socket | None) -> None:
    """Turn Nagle off on a connected TCP socket (a no-op for anything else)."""
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def nodelay(sock: socket.socket) -> bool:
    """Whether Nagle is off on this socket (what the tests check on both ends)."""
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
