"""What a simulator raises: a refused command (an entry in the SCPI error queue or a Modbus
exception) and an alarm stopping a job inside the physics."""
from __future__ import annotations

from drivers.errors import BumplineError


class SimError(BumplineError):
    """A refused command: becomes an entry in the SCPI error queue (or a Modbus exception)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code, self.text = code, text


class AlarmStop(BumplineError):
    """Raised inside physics: the tool stops the job and raises an alarm."""

    def __init__(self, alid: int, name: str, text: str) -> None:
        super().__init__(f"{alid} {name}: {text}")
        self.alid, self.name, self.text = alid, name, text
