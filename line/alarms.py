"""Acknowledging a tool's open alarms, the same from the CLI and from the UI's form: who, when and
the note go to the ledger; the alarm stays open, and the tool down, until the tool reports it cleared."""
from __future__ import annotations

from line.ledger import Ledger
from line.ledger import models as m


class NoOpenAlarm(LookupError):
    """Nothing to acknowledge: the tool has no open alarm (with that ALID)."""


def acknowledge(tool_id: str, operator: str, alid: int | None = None, note: str = "") -> list[m.Alarm]:
    """The alarms acknowledged; raises NoOpenAlarm (naming the tool, the ALID and the ledger) when none."""
    ledger = Ledger()
    try:
        done = ledger.acknowledge_alarms(tool_id, operator.strip(), alid, note)
    finally:
        ledger.dispose()
    if not done:
        raise NoOpenAlarm(f"{tool_id} has no open alarm{f' with ALID {alid}' if alid is not None else ''} in {ledger.url}")
    return done
