"""Tool kinds known to the line: name → driver class. Adding a kind adds a line here, nothing in `line/`."""
from __future__ import annotations

from drivers.base import ToolDriver
from drivers.sputter.driver import SputterDriver

DRIVERS: dict[str, type[ToolDriver]] = {
    SputterDriver.kind: SputterDriver,
}


def driver_class(kind: str) -> type[ToolDriver]:
    try:
        return DRIVERS[kind]
    except KeyError:
        raise KeyError(f"unknown tool kind {kind!r}; known: {', '.join(sorted(DRIVERS))}") from None
