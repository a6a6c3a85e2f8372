"""An asyncio SCPI-over-TCP server (newline-terminated) that dispatches on an interface spec.

Each host connection has its own error queue and event status register, like a separate VISA
session. Undefined headers and bad parameters queue the standard SCPI errors; a query that fails
sends no reply (as real instruments do), so the host sees a timeout plus an error in `SYST:ERR?`.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from typing import Any

from drivers.scpi_spec import STB_EAV, STB_ESB, STB_MSS, STB_OPER, STB_QUES, ParameterCount, ScpiInterface, decode_values, encode_values
from drivers.vocabulary import DeviceError, ToolState
from sim_hw.tool import SimError

log = logging.getLogger(__name__)
ESR_QUERY_ERROR, ESR_EXEC_ERROR, ESR_COMMAND_ERROR = 1 << 2, 1 << 4, 1 << 5


ERROR_QUEUE = 32
MAX_LINE = 64 * 1024               # a program message longer than this is a hostile peer, not a host


class Session:
    """One host connection's error queue (IEEE 488.2 §21.8: first in, first out; when full the newest
    entry becomes -350 "Queue overflow" and later errors are lost) and event status register."""

    def __init__(self) -> None:
        self.errors: deque[tuple[int, str]] = deque()
        self.esr = 0
        self.logged = False            # a handler failure is logged once per connection, not per message

    def push(self, code: int, text: str) -> None:
        self.esr |= ESR_COMMAND_ERROR if -199 <= code <= -100 else ESR_EXEC_ERROR
        if len(self.errors) < ERROR_QUEUE - 1:
            self.errors.append((int(code), text))
        elif len(self.errors) == ERROR_QUEUE - 1:
            self.errors.append((int(DeviceError.QUEUE_OVERFLOW), "Queue overflow"))


class ScpiServer:
    def __init__(self, interface: ScpiInterface, tool: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        """`tool`: a SimTool, or any instrument with `faults`, `alarm_rows`, `tool_state` and the handlers."""
        self.interface = interface
        self.tool = tool
        self.host, self.port = host, port
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._refuse_until = 0.0
        self._hang_until = 0.0
        self.connections_total = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_LINE)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

    def drop_connections(self, for_s: float) -> None:
        """Fault: every host loses its socket; new connections are refused for a while."""
        self._refuse_until = time.monotonic() + for_s
        for w in list(self._writers):
            w.close()

    def hang(self, for_s: float) -> None:
        self._hang_until = time.monotonic() + for_s

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._refuse_until:
            writer.close()
            return
        self.connections_total += 1
        # Nagle off: a reply must not wait for the host's delayed ACK (asyncio sets it too; say so here)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writers.add(writer)
        session = Session()
        try:
            while line := await self._readline(reader, session):
                self._apply_comm_faults()
                while time.monotonic() < self._hang_until:
                    await asyncio.sleep(0.05)
                if writer.is_closing():
                    break
                text = line.decode(errors="replace").strip()
                if not text:
                    continue
                reply = self.handle(session, text)
                if reply is not None:
                    writer.write(reply.encode() + b"\n")
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _readline(self, reader: asyncio.StreamReader, session: Session) -> bytes:
        """The next program message; an over-long one ends the connection (logged once)."""
        try:
            return await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError:
            log.warning("%s: a peer sent a line over %d bytes; connection closed", self.tool.tool_id, MAX_LINE)
            return b""

    def _apply_comm_faults(self) -> None:
        if fault := self.tool.faults.take("drop_connection"):
            self.drop_connections(fault.params["for_s"])
        if fault := self.tool.faults.take("hang"):
            self.hang(fault.params["for_s"])

    def handle(self, session: Session, text: str) -> str | None:
        header, _, rest = text.partition(" ")
        cmd = self.interface.get(header)
        if cmd is None:
            session.push(DeviceError.UNDEFINED_HEADER, f'Undefined header; "{header}"')
            return None
        if cmd.params and not rest.strip():
            session.push(DeviceError.MISSING_PARAMETER, f"Missing parameter; {cmd.header} takes {', '.join(a.name for a in cmd.params)}")
            return None
        if not cmd.params and rest.strip():
            session.push(DeviceError.PARAMETER_NOT_ALLOWED, f"Parameter not allowed; {cmd.header} takes none")
            return None
        try:
            args = decode_values(cmd.params, rest.strip()) if cmd.params else []
        except ParameterCount as exc:
            code = DeviceError.PARAMETER_NOT_ALLOWED if exc.too_many else DeviceError.MISSING_PARAMETER
            session.push(code, f"{'Parameter not allowed' if exc.too_many else 'Missing parameter'}; {cmd.header}: {exc}")
            return None
        except (ValueError, TypeError) as exc:
            session.push(DeviceError.ILLEGAL_VALUE, f"Illegal parameter value; {cmd.header}: {exc}")
            return None
        for arg, value in zip(cmd.params, args, strict=False):
            if (rule := arg.check(value)) is not None:
                session.push(DeviceError.OUT_OF_RANGE, f"Data out of range; {arg.name} {rule}")
                return None
        try:
            result = self._dispatch(session, cmd.handler, args)
        except SimError as exc:
            session.push(exc.code, exc.text)
            return None
        except Exception as exc:
            if not session.logged:         # once per connection: a hostile peer must not fill the log
                session.logged = True
                log.exception("%s: handler %s failed (further failures on this connection not logged)",
                              self.tool.tool_id, cmd.handler)
            session.push(DeviceError.EXECUTION, f"Execution error; {exc}")
            return None
        if not cmd.is_query:
            return None
        return encode_values(cmd.returns, result)

    def _dispatch(self, session: Session, handler: str, args: list[Any]) -> Any:
        if handler == "next_error":
            return session.errors.popleft() if session.errors else (0, "No error")
        if handler == "clear_status":
            session.errors.clear()
            session.esr = 0
            return None
        if handler == "event_status":
            esr, session.esr = session.esr, 0
            return (esr,)
        if handler == "status_byte":
            return (self.status_byte(session),)
        if handler == "operation_complete":
            return (1,)
        return getattr(self.tool, handler)(*args)

    def status_byte(self, session: Session) -> int:
        stb = 0
        if session.errors:
            stb |= STB_EAV
        if self.tool.alarm_rows:
            stb |= STB_QUES
        if session.esr:
            stb |= STB_ESB
        if self.tool.tool_state == ToolState.EXECUTING:
            stb |= STB_OPER
        if stb & (STB_EAV | STB_QUES | STB_ESB):
            stb |= STB_MSS
        return stb
