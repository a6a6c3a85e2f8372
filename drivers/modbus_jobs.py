"""The job protocol every Modbus (PLC) tool kind speaks: one register block, declared once.

Handshake: the host writes CMD and a new CMD_SEQ in one request; the PLC executes it and echoes the
sequence in ACK_SEQ with ACK_CODE (0 or the shared device error codes). A repeated sequence number
is ignored, so a write retried after a lost reply never acts twice.
"""
from __future__ import annotations

from drivers.modbus_spec import Reg
from drivers.vocabulary import JobState, ToolState, WaferStatus

COMMANDS = {"LOAD_RECIPE": 1, "CREATE_JOB": 2, "START": 3, "PAUSE": 4, "RESUME": 5, "ABORT": 6, "CLEAR_ALARMS": 7,
            "MAINTAIN": 8}
SLOT_STATUSES = tuple(WaferStatus)
MAX_SLOTS = 25
MAX_ALARMS = 8
ID_REGS = 16              # 32 characters for job and wafer ids
SLOT_MAP, SLOT_STATUS, ALARMS, RESULTS = 100, 500, 540, 600
RESULT_AREA = 1400        # results end here; then the refusal text, then the recipe block at 2000
ACK_TEXT = 1400
STATUS_SPAN = (0, 100)    # one read returns every status register


def job_block(phases: tuple[str, ...], result_fields: tuple[str, ...]) -> tuple[Reg, ...]:
    """The shared registers, given the kind's phases and per-wafer result fields (f32 each)."""
    if RESULTS + MAX_SLOTS * 2 * len(result_fields) > RESULT_AREA:
        raise ValueError("too many result fields for the result area")
    regs = [
        Reg("cmd", 0, "u16", writable=True), Reg("cmd_seq", 1, "u16", writable=True),
        Reg("ack_seq", 2, "u16"), Reg("ack_code", 3, "i16"),
        Reg("tool_state", 4, "enum", choices=tuple(ToolState)), Reg("job_state", 5, "enum", choices=tuple(JobState)),
        Reg("phase", 6, "enum", choices=("",) + phases), Reg("wafer_index", 7), Reg("wafers_done", 8),
        Reg("wafers_total", 9), Reg("alarm_count", 10), Reg("heartbeat", 11), Reg("clock_s", 12, "u32"),
        Reg("job_id", 16, "str", ID_REGS), Reg("recipe_hash", 32, "str", 32),
        Reg("req_job_id", 64, "str", ID_REGS, writable=True), Reg("wafer_count", 80, "u16", writable=True),
        Reg("maint_action", 84, "str", 8, writable=True, doc="MAINTAIN: the action done (16 characters)"),
        Reg("maint_item", 92, "str", 8, writable=True, doc="MAINTAIN: what it was done to (e.g. a target's material)"),
        Reg("ack_text", ACK_TEXT, "str", 32, doc="why the last command was refused (64 characters)"),
    ]
    regs += [Reg(f"slot[{i}]", SLOT_MAP + i * ID_REGS, "str", ID_REGS, writable=True) for i in range(MAX_SLOTS)]
    regs += [Reg(f"slot_status[{i}]", SLOT_STATUS + i, "enum", choices=SLOT_STATUSES) for i in range(MAX_SLOTS)]
    for k in range(MAX_ALARMS):
        regs += [Reg(f"alarm[{k}].alid", ALARMS + 4 * k), Reg(f"alarm[{k}].slot", ALARMS + 4 * k + 1),
                 Reg(f"alarm[{k}].at_s", ALARMS + 4 * k + 2, "u32")]
    stride = 2 * len(result_fields)
    for i in range(MAX_SLOTS):
        for j, name in enumerate(result_fields):
            regs.append(Reg(f"result[{i}].{name}", RESULTS + i * stride + 2 * j, "f32"))
    return tuple(regs)


IDENT = Reg("ident", ACK_TEXT + 32, "str", 32, doc="maker,model,serial,firmware (64 characters)")


class PlcInterface:
    """One PLC tool kind's interface as data: register map, phases, results, readbacks."""

    def __init__(self, kind: str, phases: tuple[str, ...], result_fields: tuple[str, ...],
                 recipe_regs: tuple[Reg, ...], readback_regs: tuple[Reg, ...]) -> None:
        from drivers.modbus_spec import RegisterMap

        self.kind, self.phases, self.result_fields = kind, phases, result_fields
        self.readbacks = tuple(r.name for r in readback_regs)
        self.regmap = RegisterMap(kind, job_block(phases, result_fields) + (IDENT,) + recipe_regs + readback_regs)
        readback = [(r.address, r.address + r.size) for r in readback_regs]
        # the PLC's mapped data blocks (spare words inside read as 0); any other address is exception 2
        self.areas: tuple[tuple[int, int], ...] = (
            (STATUS_SPAN[0], STATUS_SPAN[0] + STATUS_SPAN[1]), (SLOT_MAP, SLOT_MAP + MAX_SLOTS * ID_REGS),
            (SLOT_STATUS, SLOT_STATUS + MAX_SLOTS), (ALARMS, ALARMS + 4 * MAX_ALARMS), (RESULTS, RESULT_AREA),
            (self.regmap.recipe_block[0], sum(self.regmap.recipe_block)),
            *([(min(a for a, _ in readback), max(b for _, b in readback))] if readback else []))

    def declared(self, address: int, count: int) -> bool:
        """Every address in [address, address + count) is a declared register or inside a data block."""
        return all(a in self.regmap.by_address or any(lo <= a < hi for lo, hi in self.areas)
                   for a in range(address, address + count))
