"""`SimLine`: every simulated tool of a line config in one asyncio loop, sharing one world model
and one virtual clock, each behind its own loopback port, plus a JSON control port for tests."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import BumplineError, UnknownName
from drivers.limits import Limit
from sim_hw.clock import VirtualClock
from sim_hw.control import ControlServer
from sim_hw.registry import simulators
from sim_hw.tool import SimTool
from sim_hw.world import WorldModel


@dataclass(frozen=True)
class SimToolSpec:
    tool_id: str
    kind: str
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    endpoints: dict[str, int] = field(default_factory=dict)  # auxiliary servers (e.g. rectifiers)
    limits: dict[str, Limit] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    protocol: str = ""  # which of the kind's wire protocols to serve ("": its first)


class SimLine:
    def __init__(self, tools: list[SimToolSpec], speed: float = 600.0, seed: int = 0,
                 control_port: int | None = 0, serve: bool = True, noise: float = 1.0,
                 token_file: str | None = None) -> None:
        """`serve=False`: no protocol servers and no control port — the in-process tier
        (`sim_hw.inprocess`) calls the tools directly. `noise=0`: every tool at its nominal numbers."""
        unknown = sorted({t.kind for t in tools} - set(simulators()))
        if unknown:
            raise UnknownName(f"no simulator for tool kind(s) {', '.join(unknown)}")
        self.specs = tools
        self.clock = VirtualClock(speed)
        self.world = WorldModel()
        self.seed = seed
        self.noise = noise
        self.token_file = token_file
        self.control_port = control_port if serve else None
        self.serve = serve
        self.tools: dict[str, SimTool] = {}
        self.servers: dict[str, Any] = {}
        self.control: ControlServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        for spec in self.specs:
            kind = simulators()[spec.kind]
            tool = kind.tool(spec.tool_id, self.clock, self.world, self.seed, spec.limits, spec.options)
            tool.noise_scale = self.noise
            servers = kind.servers(spec.protocol)(tool, spec.host, {"main": spec.port, **spec.endpoints}) \
                if self.serve else {}
            for server in servers.values():
                await server.start()
            self.tools[spec.tool_id], self.servers[spec.tool_id] = tool, servers
        if self.control_port is not None:
            self.control = ControlServer(self, port=self.control_port, token_file=self.token_file)
            await self.control.start()

    async def stop(self) -> None:
        for tool in self.tools.values():
            for job in tool.jobs.values():
                if job.task and not job.task.done():
                    job.task.cancel()
        for servers in self.servers.values():
            for server in servers.values():
                await server.stop()
        if self.control:
            await self.control.stop()

    def ports(self) -> dict[str, int]:
        """Each tool's main port."""
        return {tid: s["main"].port for tid, s in self.servers.items()}

    def endpoint_ports(self) -> dict[str, dict[str, int]]:
        """Auxiliary endpoints' ports per tool (tools that have any)."""
        return {tid: {n: srv.port for n, srv in s.items() if n != "main"} for tid, s in self.servers.items()
                if len(s) > 1}

    # ---- running in a background thread (tests, demo) --------------------------------------
    def start_in_thread(self) -> SimLine:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name="sim-line", daemon=True)
        self._thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    def stop_thread(self) -> None:
        if self.loop and self._thread:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `fn(*args, **kwargs)` on the simulator loop from another thread and return its result."""
        async def wrapper() -> Any:
            return fn(*args, **kwargs)
        if self.loop is None:
            raise BumplineError("the simulated line is not running")
        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    # ---- the operations the control port offers ---------------------------------------------
    def inject(self, tool_id: str, fault: str, **params: Any) -> dict[str, Any]:
        f = self.tool(tool_id).faults.inject(fault, **params)
        return {"tool": tool_id, "fault": f.name, "params": f.params, "one_shot": f.one_shot}

    def clear(self, tool_id: str, fault: str | None = None) -> None:
        self.tool(tool_id).faults.clear(fault)

    def tool(self, tool_id: str) -> SimTool:
        try:
            return self.tools[tool_id]
        except KeyError:
            raise UnknownName(f"no simulated tool {tool_id!r}; have {', '.join(self.tools)}") from None

    def describe(self) -> list[dict[str, Any]]:
        return [{"tool": tid, "kind": t.kind, "host": self.servers[tid]["main"].host,
                 "port": self.servers[tid]["main"].port,
                 "endpoints": {n: s.port for n, s in self.servers[tid].items() if n != "main"},
                 "state": t.tool_state, "faults": sorted(t.faults.known)} for tid, t in self.tools.items()]
