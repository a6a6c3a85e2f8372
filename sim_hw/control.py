"""The simulator control port's server: newline-delimited JSON over loopback TCP (the client is
`sim_hw.control_client`, apart, so a caller of the port imports no simulator).

Not a tool protocol — the backdoor a test, the demo or `bumpline sim fault` uses to inject faults,
change the clock speed and read the world model and job logs of a running `SimLine`.
Request: {"op": "inject", "tool": "PVD01", "fault": "hard_arc", "params": {"slot": 3}}
Reply:   {"ok": true, "result": ...} or {"ok": false, "error": "..."}
"""
from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim_hw.line import SimLine


class ControlServer:
    def __init__(self, line: SimLine, host: str = "127.0.0.1", port: int = 0) -> None:
        self.line, self.host, self.port = line, host, port
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    reply = {"ok": True, "result": self.execute(json.loads(line))}
                except Exception as exc:  # noqa: BLE001 - every failure goes back as a message
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def execute(self, req: dict[str, Any]) -> Any:
        op, line = req.get("op"), self.line
        if op == "ping":
            return "pong"
        if op == "tools":
            return line.describe()
        if op == "inject":
            return line.inject(req["tool"], req["fault"], **req.get("params", {}))
        if op == "clear":
            line.clear(req["tool"], req.get("fault"))
            return None
        if op == "faults":
            return line.tool(req["tool"]).faults.armed()
        if op == "world":
            return line.world.snapshot(req.get("wafer"))
        if op == "start_wafers":
            for wafer_id in req["wafers"]:
                line.world.start_wafer(wafer_id, req["design"])
            return len(req["wafers"])
        if op == "jobs":
            return {tid: t.job_log() for tid, t in line.tools.items() if req.get("tool") in (None, tid)}
        if op == "speed":
            line.clock.set_speed(float(req["speed"]))
            return line.clock.speed
        if op == "now":
            return line.clock.now()
        raise ValueError(f"unknown op {op!r}")
