"""Litho track front end: results are coat thickness and delivered dose (declared in the spec)."""
from __future__ import annotations

from typing import cast

from drivers.base import ToolDriver
from drivers.litho.backend import LithoBackend
from drivers.litho.spec import SPEC


class LithoDriver(ToolDriver):
    spec = SPEC

    def lamp_intensity(self) -> float:
        return cast(LithoBackend, self.backend).lamp_intensity()


DRIVER = LithoDriver
