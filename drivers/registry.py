"""Tool kinds known to the line, discovered: every package `drivers/<kind>/` whose `driver.py` sets
`DRIVER`. Adding a kind adds a folder; nothing here or in `line/` changes."""
from __future__ import annotations

import drivers
from drivers.errors import UnknownName
from drivers.base import ToolDriver
from drivers.plugins import discover

DRIVERS: dict[str, type[ToolDriver]] = {cls.kind: cls for cls in
                                        sorted(discover(drivers, "driver", "DRIVER"), key=lambda c: c.kind)}


def driver_class(kind: str) -> type[ToolDriver]:
    try:
        return DRIVERS[kind]
    except KeyError:
        raise UnknownName(f"unknown tool kind {kind!r}; known: {', '.join(sorted(DRIVERS))}") from None
