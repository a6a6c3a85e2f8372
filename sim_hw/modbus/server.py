"""A Modbus TCP PLC (pymodbus server) in front of a `SimTool`.

Reads are served from the tool's live state (the register image is refreshed from the model on the
virtual clock at every request); writes to read-only registers are refused with ILLEGAL ADDRESS;
a write of CMD_SEQ executes the job command, once per sequence number. As the Modbus application
protocol says: only the configured unit id answers; an address no register declares is exception 2
(ILLEGAL DATA ADDRESS); a count outside 1–125 (read) or 1–123 (write) is exception 3 (ILLEGAL DATA
VALUE); FC6 echoes the register written.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.datastore.context import ModbusBaseDeviceContext
from pymodbus.server import ModbusTcpServer

from drivers.errors import BumplineError
from drivers.modbus_jobs import COMMANDS, MAX_ALARMS, MAX_SLOTS, PlcInterface
from drivers.modbus_spec import block_hash, decode_recipe
from drivers.vocabulary import DeviceError
from sim_hw.tool import SimError, SimTool

SIZE = 4096
MAX_READ, MAX_WRITE = 125, 123      # registers per request (Modbus application protocol, FC3/4 and FC16)
UNIT = 1                            # the unit id the PLC answers to (the driver's address default)
COMMAND_NAMES = {v: k for k, v in COMMANDS.items()}


class PlcImage:
    def __init__(self, interface: PlcInterface, tool: SimTool) -> None:
        self.interface, self.regmap, self.tool = interface, interface.regmap, tool
        self.regs = [0] * SIZE
        self.last_seq = 0
        self.heartbeat = 0
        self._set("ident", ",".join(tool.idn()))
        self.on_request = lambda: None  # the server hooks communication faults here

    def _set(self, name: str, value: Any) -> None:
        r = self.regmap[name]
        self.regs[r.address: r.address + r.size] = r.encode(value)

    def _get(self, name: str) -> Any:
        r = self.regmap[name]
        return r.decode(self.regs[r.address: r.address + r.size])

    # ---- Modbus access -------------------------------------------------------------------------
    def read(self, address: int, count: int) -> list[int] | ExcCodes:
        self.on_request()
        if not 1 <= count <= MAX_READ:
            return ExcCodes.ILLEGAL_VALUE
        if address < 0 or address + count > SIZE or not self.interface.declared(address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        self.refresh()
        return self.regs[address: address + count]

    def echo(self, address: int, count: int) -> list[int] | ExcCodes:
        """What a write reply repeats (FC6 echoes the value written): no refresh, no fault."""
        if address < 0 or address + count > SIZE:
            return ExcCodes.ILLEGAL_ADDRESS
        return self.regs[address: address + count]

    def write(self, address: int, values: list[int]) -> None | ExcCodes:
        self.on_request()
        if not 1 <= len(values) <= MAX_WRITE:
            return ExcCodes.ILLEGAL_VALUE
        if address < 0 or address + len(values) > SIZE:
            return ExcCodes.ILLEGAL_ADDRESS
        if not all(self.regmap.writable(a) for a in range(address, address + len(values))):
            return ExcCodes.ILLEGAL_ADDRESS
        self.regs[address: address + len(values)] = list(values)
        if address <= 1 < address + len(values):
            self.execute()
        return None

    # ---- job commands ----------------------------------------------------------------------------
    def execute(self) -> None:
        seq = self.regs[1]
        if seq == self.last_seq:
            return  # a retried write of a command already executed
        self.last_seq = seq
        code, text = 0, ""
        try:
            name = COMMAND_NAMES.get(self.regs[0])
            if name is None:
                raise SimError(DeviceError.ILLEGAL_VALUE, f"unknown command {self.regs[0]}")
            getattr(self, f"cmd_{name.lower()}")()
        except SimError as exc:
            code, text = exc.code, exc.text
        self._set("ack_text", text)
        self.regs[2] = seq
        self.regs[3] = code & 0xFFFF

    def cmd_load_recipe(self) -> None:
        start, count = self.regmap.recipe_block
        block = self.regs[start: start + count]
        self.tool.load_recipe(decode_recipe(self.regmap, block))
        self.tool.recipe_hash_value = block_hash(block)  # a PLC checksums its setpoint block

    def cmd_create_job(self) -> None:
        n = self._get("wafer_count")
        if not 1 <= n <= MAX_SLOTS:
            raise SimError(DeviceError.OUT_OF_RANGE, f"wafer count {n} outside 1..{MAX_SLOTS}")
        wafers = [self._get(f"slot[{i}]") for i in range(n)]
        self.tool.create_job(self._get("req_job_id"), ";".join(wafers))

    def cmd_start(self) -> None:
        self.tool.start_job(self._get("req_job_id"))

    def cmd_pause(self) -> None:
        self.tool.pause_job()

    def cmd_resume(self) -> None:
        self.tool.resume_job()

    def cmd_abort(self) -> None:
        self.tool.abort_job()

    def cmd_clear_alarms(self) -> None:
        self.tool.alarm_clear()

    def cmd_maintain(self) -> None:
        self.tool.maintain(self._get("maint_action"), self._get("maint_item"))

    # ---- status from the model ---------------------------------------------------------------------
    def refresh(self) -> None:
        tool, job = self.tool, self.tool.current
        self.heartbeat = (self.heartbeat + 1) % 65536
        job_id, tool_state, job_state, phase, index, done, total, readings = tool.job_status()
        for name, value in (("tool_state", tool_state), ("job_state", job_state),
                            ("phase", phase if phase in self.interface.phases else ""), ("wafer_index", index),
                            ("wafers_done", done), ("wafers_total", total), ("alarm_count", min(len(tool.alarm_rows), MAX_ALARMS)),
                            ("heartbeat", self.heartbeat), ("clock_s", int(tool.clock.now()) % 2**32),
                            ("job_id", job_id), ("recipe_hash", tool.recipe_hash_value)):
            self._set(name, value)
        for k, alarm in enumerate(tool.alarm_rows[:MAX_ALARMS]):
            self._set(f"alarm[{k}].alid", alarm["alid"])
            self._set(f"alarm[{k}].slot", alarm.get("slot", 0))
            self._set(f"alarm[{k}].at_s", int(alarm["at_s"]))
        if job is not None:
            for i, row in enumerate(job.results):
                self._set(f"slot_status[{i}]", row["status"])
                for name in self.interface.result_fields:
                    self._set(f"result[{i}].{name}", row.get(name))
        for name in self.interface.readbacks:
            if name in readings:
                self._set(name, readings[name])


class PlcContext(ModbusBaseDeviceContext):
    def __init__(self, image: PlcImage) -> None:
        self.image = image

    def reset(self) -> None:
        """Nothing to reset: the image is the model's."""

    def getValues(self, func_code: int, address: int, count: int = 1):  # noqa: ANN201 - pymodbus API
        if func_code in (6, 16):        # pymodbus reads back what a write set, to echo it
            return self.image.echo(address, count)
        if func_code not in (3, 4):
            return ExcCodes.ILLEGAL_FUNCTION
        return self.image.read(address, count)

    def setValues(self, func_code: int, address: int, values: list[int] | list[bool]) -> ExcCodes | None:
        if func_code not in (6, 16):
            return ExcCodes.ILLEGAL_FUNCTION
        return self.image.write(address, list(values))


class _Server(ModbusTcpServer):
    """pymodbus' TCP server with the link faults: while `refuse_until` lasts every new connection is
    closed as it is made; while `hang_until` lasts every new connection is silent (not read)."""
    refuse_until = 0.0
    hang_until = 0.0

    def callback_new_connection(self) -> Any:
        handler = super().callback_new_connection()
        made = handler.connection_made

        def connection_made(transport: asyncio.BaseTransport) -> None:
            made(transport)
            now = time.monotonic()
            if now < self.refuse_until:
                transport.close()
            elif now < self.hang_until:
                silence(transport, self.hang_until - now)
        handler.connection_made = connection_made
        return handler


def silence(transport: asyncio.BaseTransport, for_s: float) -> None:
    """Stop reading a connection for `for_s` seconds (requests queue up unanswered, as on a hung PLC)."""
    if not isinstance(transport, asyncio.ReadTransport):
        return

    def resume() -> None:
        if not transport.is_closing():
            transport.resume_reading()
    transport.pause_reading()
    asyncio.get_running_loop().call_later(for_s, resume)


class PlcServer:
    def __init__(self, interface: PlcInterface, tool: SimTool, host: str = "127.0.0.1", port: int = 0) -> None:
        self.image = PlcImage(interface, tool)
        self.image.on_request = self._apply_comm_faults
        self.tool, self.host, self.port = tool, host, port
        self._server: _Server | None = None

    async def start(self) -> None:
        context = ModbusServerContext(devices={UNIT: PlcContext(self.image)}, single=False)
        self._server = _Server(context, address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        self.port = self._server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]  # an asyncio Server

    async def stop(self) -> None:
        if self._server:
            await self._server.shutdown()

    def _apply_comm_faults(self) -> None:
        if fault := self.tool.faults.take("drop_connection"):
            self.drop_connections(fault.params["for_s"])
        if fault := self.tool.faults.take("hang"):
            self.hang(fault.params["for_s"])

    @property
    def server(self) -> _Server:
        if self._server is None:
            raise BumplineError("the PLC server is not started")
        return self._server

    def drop_connections(self, for_s: float) -> None:
        self.server.refuse_until = time.monotonic() + for_s
        for conn in list(self.server.active_connections.values()):
            conn.close()

    def hang(self, for_s: float) -> None:
        """Fault: every connection, open or new, goes silent for a while (SCPI tools do the same)."""
        self.server.hang_until = time.monotonic() + for_s
        for conn in list(self.server.active_connections.values()):
            if conn.transport:
                silence(conn.transport, for_s)
