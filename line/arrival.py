"""Wafers arriving at the line: the material-arrival interface, chosen by the line config.

On a real line the load port and the MES know the wafers that arrive, and nothing needs telling
(`FabArrival`, the default without a `simulation` section). A simulated line's world model must be
told which wafers arrived with which incoming design (the route's `incoming` regions): that is the
simulated load port, `sim_hw.load_port:SimulatedLoadPort`, named by the config's `arrival` (the
default with a `simulation` section). It is imported by name, so `line` never imports a simulator.
The call is made only for a lot the ledger has never seen (a simulator ignores a wafer it already
has, so a second arrival cannot reset one's physics)."""
from __future__ import annotations

import importlib
import logging
from typing import Any, Protocol

from drivers.errors import BadValue
from line.config import LineConfig
from line.recipes.route import Route

log = logging.getLogger(__name__)


class MaterialArrival(Protocol):
    def arrive(self, lot_id: str, wafer_ids: list[str], design: dict[str, Any]) -> bool:
        """Announce the wafers of a new lot; True when the line took them, False when it needs no telling."""
        ...


class FabArrival:
    """A real line: the load port reads the carrier and the MES knows the wafers."""

    def __init__(self, cfg: LineConfig) -> None:
        self.cfg = cfg

    def arrive(self, lot_id: str, wafer_ids: list[str], design: dict[str, Any]) -> bool:
        return False


def arrival_for(cfg: LineConfig) -> MaterialArrival:
    """The arrival implementation the line config names (`module:Class`, built with the config)."""
    ref = cfg.arrival_ref
    if ref == "fab":
        return FabArrival(cfg)
    module, _, name = ref.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise BadValue(f"{cfg.source}: arrival {ref!r} cannot be loaded ({exc})") from exc
    return cls(cfg)


def bring_onto_line(cfg: LineConfig, route: Route, lot_id: str, wafers: int) -> bool:
    """True when the line took the wafers (a simulator); False on a real line or an unreachable one."""
    design = route.design()
    return arrival_for(cfg).arrive(lot_id, [f"{lot_id}.{i:02d}" for i in range(1, wafers + 1)], design)
