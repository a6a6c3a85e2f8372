"""Client of a simulated line's control port (`sim_hw.control`): the test, demo and CLI side.

Imports nothing of the simulators, so the line's material-arrival adapter and the CLI can talk to
a simulated line in another process without loading its physics.

The port is a backdoor into the simulated physics (faults, clock, world), so it is not open to
anyone on the host: the server makes a random token when it starts and writes it to a file only
its user can read — `token_file`, by default `$BUMPLINE_HOME/sim-control-<port>.token`
(`BUMPLINE_HOME` defaults to ./.bumpline, as for the ledger) — and every request but `ping` must
carry it. A client reads the same file.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from drivers.errors import BumplineError

MAX_REPLY = 64 * 1024 * 1024        # the world of a full line of lots is a few MB


class SimControlError(BumplineError):
    """The control port refused a request (unknown tool, fault or op, no token); the text says why."""


def token_path(port: int, token_file: str | Path | None = None) -> Path:
    if token_file:
        return Path(token_file)
    return Path(os.environ.get("BUMPLINE_HOME", ".bumpline")).resolve() / f"sim-control-{port}.token"


class SimControl:
    """Client for the control port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 15000, timeout_s: float = 10.0,
                 token_file: str | Path | None = None) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.token_file = token_path(port, token_file)

    def token(self) -> str:
        try:
            return self.token_file.read_text(encoding="utf-8").strip()
        except OSError:
            raise SimControlError(f"no control token at {self.token_file}: start the simulated line as this user "
                                  "(bumpline sim up), with the same BUMPLINE_HOME or the line config's "
                                  "simulation.token_file") from None

    def request(self, op: str, **fields: Any) -> Any:
        message = {"op": op, **fields} if op == "ping" else {"op": op, "token": self.token(), **fields}
        with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as sock:
            sock.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_REPLY:
                    raise SimControlError(f"the control port's reply passed {MAX_REPLY:,} bytes")
        try:
            reply = json.loads(data)
        except ValueError:
            raise SimControlError(f"the control port at {self.host}:{self.port} answered no JSON") from None
        if not reply["ok"]:
            raise SimControlError(reply["error"])
        return reply["result"]

    def inject(self, tool: str, fault: str, **params: Any) -> Any:
        return self.request("inject", tool=tool, fault=fault, params=params)

    def world(self, wafer: str | None = None) -> dict[str, Any]:
        return self.request("world", wafer=wafer)

    def jobs(self, tool: str | None = None) -> dict[str, Any]:
        return self.request("jobs", tool=tool)
