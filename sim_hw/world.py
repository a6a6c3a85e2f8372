"""The world model: what is physically on every wafer, shared by all simulators of a line.

A wafer has regions (the `pad` opening and the `field` on passivation); each region is a stack of
layers from the substrate up. Tools add, thin or remove layers; every job a wafer sees is logged,
so tests can prove a wafer was never processed twice. `line` never reads this; tests and the demo's
final product check do.
"""
from __future__ import annotations

import copy
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from drivers.effects import WAFER_AREA_CM2
from drivers.errors import UnknownName


@dataclass
class Layer:
    material: str
    thickness_nm: float
    role: str
    tool: str = ""
    job: str = ""
    props: dict[str, Any] = field(default_factory=dict)


REGION_FRACTION = {"pad": 0.10, "field": 0.90}   # pad openings vs field, of the wafer area


@dataclass
class Wafer:
    wafer_id: str
    regions: dict[str, list[Layer]]
    history: list[dict[str, Any]] = field(default_factory=list)
    area_cm2: dict[str, float] = field(default_factory=lambda: {r: f * WAFER_AREA_CM2 for r, f in REGION_FRACTION.items()})
    max_temperature_c: float = 25.0
    reflow_count: int = 0
    flags: list[str] = field(default_factory=list)

    def top(self, region: str) -> Layer:
        return self.regions[region][-1]

    def has_layer(self, role: str) -> bool:
        return any(l.role == role for r in self.regions.values() for l in r)

    def remove(self, region: str, layer: Layer) -> list[Layer]:
        """Take a layer out of a region with everything above it (a lift-off); returns what went."""
        stack = self.regions[region]
        i = next(i for i, l in enumerate(stack) if l is layer)
        gone, self.regions[region] = stack[i:], stack[:i]
        return gone

    def layers(self, region: str, role: str | None = None, material: str | None = None) -> list[Layer]:
        return [l for l in self.regions[region]
                if (role is None or l.role == role) and (material is None or l.material == material)]


def incoming_wafer(wafer_id: str) -> Wafer:
    """A product wafer as it arrives: Al bond pads (with native oxide) in passivation-1 openings."""
    return Wafer(wafer_id, {
        "pad": [Layer("Si", 725_000.0, "substrate"), Layer("Al", 1000.0, "pad"),
                Layer("Al2O3", 4.0, "native_oxide")],
        "field": [Layer("Si", 725_000.0, "substrate"), Layer("SiN", 1000.0, "passivation")],
    })


class WorldModel:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._wafers: dict[str, Wafer] = {}

    def start_wafer(self, wafer_id: str, design: dict[str, Any]) -> Wafer:
        """Bring a wafer onto the line with its product's incoming design: {region: {area_pct, layers}}.
        A wafer already on the line keeps its stack (a restart must not reset physics)."""
        with self._lock:
            if wafer_id not in self._wafers:
                regions = {name: [Layer(l["material"], float(l["thickness_nm"]), l["role"]) for l in r["layers"]]
                           for name, r in design.items()}
                areas = {name: WAFER_AREA_CM2 * float(r["area_pct"]) / 100 for name, r in design.items()}
                self._wafers[wafer_id] = Wafer(wafer_id, regions, area_cm2=areas)
            return self._wafers[wafer_id]

    def wafer(self, wafer_id: str) -> Wafer:
        """The wafer, created as incoming material on first sight."""
        with self._lock:
            if wafer_id not in self._wafers:
                self._wafers[wafer_id] = incoming_wafer(wafer_id)
            return self._wafers[wafer_id]

    def log(self, wafer_id: str, **entry: Any) -> dict[str, Any]:
        with self._lock:
            record = dict(entry)
            self.wafer(wafer_id).history.append(record)
            return record

    def deposit(self, wafer_id: str, regions: tuple[str, ...], layer: Layer) -> None:
        with self._lock:
            w = self.wafer(wafer_id)
            for region in regions:
                w.regions[region].append(copy.deepcopy(layer))

    def heat(self, wafer_id: str, temperature_c: float) -> None:
        with self._lock:
            w = self.wafer(wafer_id)
            w.max_temperature_c = max(w.max_temperature_c, temperature_c)

    def snapshot(self, wafer_id: str | None = None) -> dict[str, Any]:
        """A deep, JSON-ready copy (for tests, the control port and `lot verify`). A read: a wafer the
        line has never seen is an error, never created (a reader must not grow the world)."""
        with self._lock:
            if wafer_id is not None and wafer_id not in self._wafers:
                raise UnknownName(f"no wafer {wafer_id[:80]!r} on the simulated line")
            wafers = self._wafers if wafer_id is None else {wafer_id: self._wafers[wafer_id]}
            return {wid: asdict(w) for wid, w in wafers.items()}

    def __contains__(self, wafer_id: str) -> bool:
        return wafer_id in self._wafers
