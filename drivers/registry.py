"""Tool kinds known to the line, discovered: every package `drivers/<kind>/` whose `spec.py` sets
`SPEC` (the kind's declaration) and whose `driver.py` sets `DRIVER` (its front end). Adding a kind
adds a folder; nothing here or in `line/` changes."""
from __future__ import annotations

import drivers
from drivers.base import ToolDriver
from drivers.errors import UnknownName
from drivers.plugins import discover
from drivers.spec import KindSpec

SPECS: dict[str, KindSpec] = {s.kind: s for s in sorted(discover(drivers, "spec", "SPEC"), key=lambda s: s.kind)}
DRIVERS: dict[str, type[ToolDriver]] = {cls.kind: cls for cls in
                                        sorted(discover(drivers, "driver", "DRIVER"), key=lambda c: c.kind)}


def driver_class(kind: str) -> type[ToolDriver]:
    try:
        return DRIVERS[kind]
    except KeyError:
        raise UnknownName(f"unknown tool kind {kind!r}; known: {', '.join(sorted(DRIVERS))}") from None


def kind_spec(kind: str) -> KindSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise UnknownName(f"unknown tool kind {kind!r}; known: {', '.join(sorted(SPECS))}") from None
