"""What a litho track backend does beyond the shared job protocol, whoever made the tool."""
from __future__ import annotations

from typing import Protocol

from drivers.backend import JobBackend


class LithoBackend(JobBackend, Protocol):
    def lamp_intensity(self) -> float:
        """Exposure lamp intensity at the wafer plane, mW/cm²."""
        ...
