"""The simulator control port's server: newline-delimited JSON over loopback TCP (the client is
`sim_hw.control_client`, apart, so a caller of the port imports no simulator).

Not a tool protocol — the backdoor a test, the demo or `bumpline sim fault` uses to inject faults,
change the clock speed and read the world model and job logs of a running `SimLine`. So it asks for
the token it wrote at start (control_client.py says where), validates every operation before it
acts (known tool, fault and parameters; finite numbers; bounded sizes), and no read creates state.
Request: {"op": "inject", "token": "…", "tool": "PVD01", "fault": "hard_arc", "params": {"slot": 3}}
Reply:   {"ok": true, "result": ...} or {"ok": false, "error": "..."}
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.errors import BadValue, BumplineError, UnknownName
from drivers.scpi_spec import bounded_json
from sim_hw.control_client import token_path

if TYPE_CHECKING:
    from sim_hw.line import SimLine

log = logging.getLogger(__name__)
MAX_REQUEST = 4 * 1024 * 1024       # a start_wafers of a full lot's design is a few kB
MAX_SPEED = 1_000_000.0
MAX_WAFERS = 1000


class Unauthorized(BumplineError):
    """A request without the control port's token."""


class ControlServer:
    def __init__(self, line: SimLine, host: str = "127.0.0.1", port: int = 0, token_file: str | Path | None = None) -> None:
        self.line, self.host, self.port = line, host, port
        self._server: asyncio.base_events.Server | None = None
        self.token = secrets.token_hex(16)
        self._token_file = token_file
        self.token_file: Path | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_REQUEST)
        self.port = self._server.sockets[0].getsockname()[1]
        self.token_file = token_path(self.port, self._token_file)
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.token + "\n")

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()
        if self.token_file is not None:
            self.token_file.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        refused = False
        try:
            while line := await reader.readuntil(b"\n"):
                try:
                    reply = {"ok": True, "result": self.execute(bounded_json(line.decode("utf-8")))}
                except Unauthorized as exc:
                    reply = {"ok": False, "error": str(exc)}
                    if not refused:
                        log.warning("control port %s: a request without the token was refused", self.port)
                    refused = True
                except Exception as exc:  # noqa: BLE001 - every failure goes back as a message
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
                if refused:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.LimitOverrunError:
            log.warning("control port %s: a request over %d bytes; connection closed", self.port, MAX_REQUEST)
        finally:
            writer.close()

    def execute(self, req: Any) -> Any:
        if not isinstance(req, dict):
            raise BadValue("a request is a JSON object with an op")
        op, line = req.get("op"), self.line
        if op == "ping":
            return "pong"
        if not isinstance(req.get("token"), str) or not hmac.compare_digest(req["token"], self.token):
            raise Unauthorized(f"unauthorized: {op!r} needs the control port's token (from {self.token_file})")
        if op == "tools":
            return line.describe()
        if op == "inject":
            params = req.get("params", {})
            if not isinstance(params, dict):
                raise BadValue("params must be an object of fault parameters")
            return line.inject(_name(req, "tool"), _name(req, "fault"), **params)
        if op == "clear":
            line.clear(_name(req, "tool"), req.get("fault") and _name(req, "fault"))
            return None
        if op == "faults":
            return line.tool(_name(req, "tool")).faults.armed()
        if op == "world":
            wafer = req.get("wafer")
            return line.world.snapshot(None if wafer is None else _name(req, "wafer"))
        if op == "start_wafers":
            wafers, design = _check_wafers(req.get("wafers")), _check_design(req.get("design"))
            for wafer_id in wafers:
                line.world.start_wafer(wafer_id, design)
            return len(wafers)
        if op == "jobs":
            tool = req.get("tool")
            if tool is not None:
                line.tool(_name(req, "tool"))
            return {tid: t.job_log() for tid, t in line.tools.items() if tool in (None, tid)}
        if op == "speed":
            speed = req.get("speed")
            if isinstance(speed, bool) or not isinstance(speed, int | float) or not math.isfinite(speed) \
                    or not 0 < speed <= MAX_SPEED:
                raise BadValue(f"speed must be a finite number in (0, {MAX_SPEED:g}], not {speed!r}")
            line.clock.set_speed(float(speed))
            return line.clock.speed
        if op == "now":
            return line.clock.now()
        raise UnknownName(f"unknown op {str(op)[:40]!r}")


def _name(req: dict[str, Any], key: str) -> str:
    value = req.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= 80:
        raise BadValue(f"{key} must be a name (a string of 1–80 characters)")
    return value


def _check_wafers(wafers: Any) -> list[str]:
    if not isinstance(wafers, list) or not 0 < len(wafers) <= MAX_WAFERS \
            or not all(isinstance(w, str) and 0 < len(w) <= 80 for w in wafers):
        raise BadValue(f"wafers must be a list of 1–{MAX_WAFERS} wafer ids (strings of 1–80 characters)")
    return wafers


def _check_design(design: Any) -> dict[str, Any]:
    """{region: {area_pct, layers: [{material, role, thickness_nm}]}} with finite, positive numbers."""
    if not isinstance(design, dict) or not 0 < len(design) <= 32:
        raise BadValue("design must be an object of 1–32 regions")
    for name, region in design.items():
        layers = region.get("layers") if isinstance(region, dict) else None
        area = region.get("area_pct") if isinstance(region, dict) else None
        if not isinstance(area, int | float) or isinstance(area, bool) or not (math.isfinite(area) and 0 < area <= 100) \
                or not isinstance(layers, list) or not 0 < len(layers) <= 64:
            raise BadValue(f"design region {str(name)[:40]!r}: needs area_pct in (0, 100] and 1–64 layers")
        for layer in layers:
            t = layer.get("thickness_nm") if isinstance(layer, dict) else None
            if not isinstance(layer, dict) or not all(isinstance(layer.get(k), str) for k in ("material", "role")) \
                    or not isinstance(t, int | float) or isinstance(t, bool) or not (math.isfinite(t) and t > 0):
                raise BadValue(f"design region {str(name)[:40]!r}: a layer needs material, role and a finite "
                               "thickness_nm > 0")
    return design
