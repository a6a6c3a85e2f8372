"""Metrology front end: per wafer, the mean, min, max and non-uniformity of what the recipe measures,
and every site's reading with where on the wafer it was taken (for the wafer map)."""
from __future__ import annotations

import logging
import math
from typing import Any

from drivers.base import ToolDriver
from drivers.effects import WAFER_RADIUS_MM
from drivers.jobs import Measurement, SiteReading
from drivers.metrology.spec import SPEC

log = logging.getLogger(__name__)


class MetrologyDriver(ToolDriver):
    spec = SPEC

    def measurements(self, row: dict[str, Any]) -> list[Measurement]:
        if not row.get("sites"):
            return []
        name, unit = row["name"], row["unit"]
        return [Measurement(f"{name}.mean", row["mean"], unit), Measurement(f"{name}.min", row["min"], unit),
                Measurement(f"{name}.max", row["max"], unit),
                Measurement(f"{name}.nonuniformity", row["nonuniformity_pct"], "%")]

    def site_readings(self, row: dict[str, Any]) -> list[SiteReading]:
        """Each site's value at its (x, y); none (and a warning naming the wafer) when the tool's
        sites and positions do not pair up or a position is off the wafer — the map is left out,
        the statistics above still stand."""
        values, where = row.get("sites") or [], row.get("site_xy_mm") or []
        try:
            pairs = [(float(x), float(y)) for x, y in where]
            ok = len(pairs) == len(values) and all(math.hypot(x, y) <= WAFER_RADIUS_MM for x, y in pairs)
            readings = [SiteReading(str(row["name"]), i + 1, x, y, float(v), str(row.get("unit", "")))
                        for i, ((x, y), v) in enumerate(zip(pairs, values, strict=True))] if ok else []
        except (TypeError, ValueError, KeyError):
            ok, readings = False, []
        if values and not ok:
            log.warning("%s: %s reported %d site values without matching positions on the wafer; no wafer map",
                        self.tool_id, row.get("wafer_id"), len(values))
        return readings


DRIVER = MetrologyDriver
