"""Client of a simulated line's control port (`sim_hw.control`): the test, demo and CLI side.

Imports nothing of the simulators, so the line's material-arrival adapter and the CLI can talk to
a simulated line in another process without loading its physics."""
from __future__ import annotations

import json
import socket
from typing import Any

from drivers.errors import BumplineError


class SimControlError(BumplineError):
    """The control port refused a request (unknown tool, fault or op); the text is the server's."""


class SimControl:
    """Client for the control port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 15000, timeout_s: float = 10.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s

    def request(self, op: str, **fields: Any) -> Any:
        with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as sock:
            sock.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
        if not reply["ok"]:
            raise SimControlError(reply["error"])
        return reply["result"]

    def inject(self, tool: str, fault: str, **params: Any) -> Any:
        return self.request("inject", tool=tool, fault=fault, params=params)

    def world(self, wafer: str | None = None) -> dict[str, Any]:
        return self.request("world", wafer=wafer)

    def jobs(self, tool: str | None = None) -> dict[str, Any]:
        return self.request("jobs", tool=tool)
