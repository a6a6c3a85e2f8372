"""What a plater backend does beyond the shared job protocol: its cells' rectifiers."""
from __future__ import annotations

from typing import Any, Protocol

from drivers.backend import JobBackend


class PlaterBackend(JobBackend, Protocol):
    def cells(self) -> list[str]:
        """The cell names whose rectifiers this backend reaches (e.g. cell1…cell4)."""
        ...

    def outputs_off(self) -> list[str]:
        """Switch every rectifier output off (allowed in any state); the cells that did not answer."""
        ...

    def cell_readings(self) -> dict[str, dict[str, Any]]:
        """Per cell: current_a, voltage_v, output, ques (status bits) and flags (their names)."""
        ...

    def run_cell(self, cell: str, amps: float, seconds: float) -> None:
        """Set a cell's current and timer and switch its output on (it switches itself off)."""
        ...

    def cell_output(self, cell: str) -> bool:
        ...
