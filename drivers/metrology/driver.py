"""Metrology front end: per wafer, the mean, min, max and non-uniformity of what the recipe measures."""
from __future__ import annotations

from typing import Any

from drivers.base import ToolDriver
from drivers.jobs import Measurement
from drivers.metrology.spec import SPEC


class MetrologyDriver(ToolDriver):
    spec = SPEC

    def measurements(self, row: dict[str, Any]) -> list[Measurement]:
        if not row.get("sites"):
            return []
        name, unit = row["name"], row["unit"]
        return [Measurement(f"{name}.mean", row["mean"], unit), Measurement(f"{name}.min", row["min"], unit),
                Measurement(f"{name}.max", row["max"], unit),
                Measurement(f"{name}.nonuniformity", row["nonuniformity_pct"], "%")]


DRIVER = MetrologyDriver
