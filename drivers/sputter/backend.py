"""What a sputter backend does beyond the shared job protocol, whoever made the tool."""
from __future__ import annotations

from typing import Protocol

from drivers.backend import JobBackend


class SputterBackend(JobBackend, Protocol):
    def pressure_torr(self) -> float:
        """Process-chamber pressure now."""
        ...

    def arc_counts(self) -> tuple[int, int]:
        """(hard, micro) arcs since power-up."""
        ...
