"""`ModbusJobBackend`: the PLC job protocol (`drivers.modbus_jobs`) over Modbus TCP."""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from drivers.errors import BadValue, CommandRejected, CommunicationLost, JobConflict, ToolError
from drivers.jobs import Alarm, Identity, JobStatus
from drivers.modbus_jobs import (
    ALARMS,
    COMMANDS,
    ID_REGS,
    MAX_ALARMS,
    MAX_SLOTS,
    RESULTS,
    SLOT_MAP,
    SLOT_STATUS,
    STATUS_SPAN,
    PlcInterface,
)
from drivers.modbus_spec import block_hash, encode_recipe, span
from drivers.spec import AlarmSpec
from drivers.transport.address import parse_address
from drivers.transport.modbus import ModbusTransport
from drivers.vocabulary import ERROR_TEXT, DeviceError, JobState

STATUS_NAMES = ("tool_state", "job_state", "phase", "wafer_index", "wafers_done", "wafers_total", "job_id")


class ModbusJobBackend:
    remembers_jobs = False      # the PLC's registers hold its current (or last) job only

    def __init__(self, tool_id: str, address: str, interface: PlcInterface, timeout_s: float = 3.0, *,
                 alarms: Sequence[AlarmSpec] = (), endpoints: Mapping[str, str] | None = None) -> None:
        """`alarms`: the kind's declared alarms (a PLC reports only the ALID); `endpoints`: auxiliary
        addresses, for vendor subclasses that talk to more than the PLC."""
        addr = parse_address(address)
        if addr.protocol != "modbus-tcp":
            raise BadValue(f"{tool_id}: a PLC tool needs a modbus-tcp:// address, not {address}")
        self.tool_id = tool_id
        self.interface = interface
        self.alarm_names = {a.alid: (a.name, a.text) for a in alarms}
        self.regmap = interface.regmap
        self.transport = ModbusTransport(tool_id, addr.host, addr.port, addr.unit, timeout_s)
        self._seq = 0
        self._readback_span = span(self.regmap[n] for n in interface.readbacks) if interface.readbacks else None

    # ---- session -------------------------------------------------------------------------
    def open(self) -> None:
        self.transport.open()
        self._seq = self.transport.read(self.regmap["ack_seq"].address, 1)[0]

    def close(self) -> None:
        self.transport.close()

    def identify(self) -> Identity:
        r = self.regmap["ident"]
        parts = (r.decode(self.transport.read(r.address, r.size)).split(",") + ["", "", "", ""])[:4]
        return Identity(*parts)

    def command(self, name: str) -> None:
        """Write CMD + a fresh sequence number; wait for the PLC's acknowledgement. A link lost on
        the way leaves the outcome unknown (the write may have reached the PLC): say so, never guess."""
        self._seq = self._seq % 65535 + 1
        try:
            ack_code = self._acknowledged(name)
        except CommunicationLost as exc:
            raise CommunicationLost(self.tool_id, f"{name}: outcome unknown, ask the tool ({exc.message})") from exc
        code = ack_code - 65536 if ack_code >= 32768 else ack_code
        if code:
            detail = self.query("ack_text") or ERROR_TEXT.get(code, "refused")
            raise CommandRejected(self.tool_id, name, code, detail)

    def _acknowledged(self, name: str) -> int:
        """Write the command and poll until the PLC echoes its sequence number; the ack code. The
        transport repeats a lost write under the same sequence number, so the PLC acts once."""
        self.transport.write(0, [COMMANDS[name], self._seq])
        deadline = time.monotonic() + self.transport.timeout_s
        while True:
            ack_seq, ack_code = self.transport.read(2, 2)
            if ack_seq == self._seq:
                return ack_code
            if time.monotonic() > deadline:
                raise CommunicationLost(self.tool_id, "no acknowledgement from the PLC")
            time.sleep(0.01)

    def _write(self, name: str, value: Any) -> None:
        r = self.regmap[name]
        self.transport.write(r.address, r.encode(value))

    # ---- jobs ------------------------------------------------------------------------------
    def load_recipe(self, body: dict[str, Any]) -> str:
        block = encode_recipe(self.regmap, body)
        self.transport.write(self.regmap.recipe_block[0], block)
        self.command("LOAD_RECIPE")
        r = self.regmap["recipe_hash"]
        tool_hash = r.decode(self.transport.read(r.address, r.size))
        if tool_hash != block_hash(block):
            raise ToolError(self.tool_id, f"setpoints corrupted in transfer: PLC checksum {tool_hash[:12]} != "
                                          f"{block_hash(block)[:12]}")
        return tool_hash

    def create_job(self, job_id: str, wafers: list[str]) -> None:
        if len(wafers) > MAX_SLOTS:
            raise ToolError(self.tool_id, f"at most {MAX_SLOTS} wafers per job")
        slots: list[int] = []
        for w in wafers:
            slots += self.regmap["slot[0]"].encode(w)
        self.transport.write(SLOT_MAP, slots)
        self._write("wafer_count", len(wafers))
        self._write("req_job_id", job_id)
        try:
            self.command("CREATE_JOB")
        except CommandRejected as exc:
            if exc.code == DeviceError.JOB_EXISTS:
                raise JobConflict(self.tool_id, job_id, self.info(job_id).job_state) from exc
            raise

    def start(self, job_id: str) -> None:
        self._write("req_job_id", job_id)
        self.command("START")

    def pause(self) -> None:
        self.command("PAUSE")

    def resume(self) -> None:
        self.command("RESUME")

    def abort(self) -> None:
        self.command("ABORT")

    def clear_alarms(self) -> None:
        self.command("CLEAR_ALARMS")

    def maintain(self, action: str, item: str = "") -> None:
        self._write("maint_action", action)
        self._write("maint_item", item or "-")
        self.command("MAINTAIN")

    def status(self) -> JobStatus:
        start, count = STATUS_SPAN
        f = self.regmap.decode_span(self.transport.read(start, count), start, STATUS_NAMES)
        readings: dict[str, Any] = {}
        if self._readback_span:
            rs, rc = self._readback_span
            readings = self.regmap.decode_span(self.transport.read(rs, rc), rs, self.interface.readbacks)
        return JobStatus(f["job_id"], f["tool_state"], f["job_state"], f["phase"], f["wafer_index"],
                         f["wafers_done"], f["wafers_total"], readings)

    def info(self, job_id: str) -> JobStatus:
        """The PLC remembers its current (or last) job only; any other id is unknown to it."""
        s = self.status()
        if s.job_id != job_id:
            return JobStatus(job_id, s.tool_state, JobState.NONE, "", 0, 0, 0, s.readings)
        return s

    def last_job(self) -> tuple[str, str]:
        s = self.status()
        return s.job_id, s.job_state

    def results(self, job_id: str) -> list[dict[str, Any]]:
        s = self.info(job_id)
        if not s.known:
            raise ToolError(self.tool_id, f"PLC does not hold job {job_id}")
        n = s.wafers_total
        slot_regs = self.transport.read(SLOT_MAP, n * ID_REGS)
        statuses = self.transport.read(SLOT_STATUS, n)
        fields = self.interface.result_fields
        stride = 2 * len(fields)
        values = self.transport.read(RESULTS, n * stride) if stride else []
        rows = []
        for i in range(n):
            row: dict[str, Any] = {
                "wafer_id": self.regmap[f"slot[{i}]"].decode(slot_regs[i * ID_REGS:(i + 1) * ID_REGS]),
                "slot": i + 1, "status": self.regmap[f"slot_status[{i}]"].decode([statuses[i]])}
            for j, name in enumerate(fields):
                row[name] = self.regmap[f"result[{i}].{name}"].decode(values[i * stride + 2 * j: i * stride + 2 * j + 2])
            rows.append(row)
        return rows

    def alarms(self) -> list[Alarm]:
        count = self.transport.read(self.regmap["alarm_count"].address, 1)[0]
        if not count:
            return []
        s = self.status()
        regs = self.transport.read(ALARMS, 4 * MAX_ALARMS)
        out = []
        for k in range(min(count, MAX_ALARMS)):
            alid, slot = regs[4 * k], regs[4 * k + 1]
            at_s = self.regmap[f"alarm[{k}].at_s"].decode(regs[4 * k + 2: 4 * k + 4])
            name, text = self.alarm_names.get(alid, (f"ALID_{alid}", "alarm not declared in the kind's spec"))
            wafer = ""
            if slot:
                r = self.regmap[f"slot[{slot - 1}]"]
                wafer = r.decode(self.transport.read(r.address, r.size))
            out.append(Alarm(alid, name, text, s.job_id, wafer, float(at_s)))
        return out

    def query(self, name: str) -> Any:
        r = self.regmap[name]
        return r.decode(self.transport.read(r.address, r.size))
