"""Vendor backends: who makes a tool of a kind and which protocol its controller speaks.

A kind's front end (`drivers/<kind>/driver.py`) means the same whoever built the tool; the backend
below it is the vendor's. Each vendor backend is one module in its kind's folder that sets
`VENDOR = Vendor(...)`; a tool's line-config entry picks one by `vendor:`, else by the protocol of
its address (each kind has at most one vendor per protocol unless named). A second vendor of a
kind is one such file plus a line-config entry.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import drivers
from drivers.errors import UnknownName
from drivers.spec import KindSpec
from drivers.transport.address import parse_address

BackendFactory = Callable[[str, str, Mapping[str, str], float], Any]
"""(tool id, address, endpoints, timeout_s) -> a backend implementing the kind's abstract backend"""

PROTOCOL_OF_ADDRESS = {"visa-socket": "scpi", "modbus-tcp": "modbus"}


@dataclass(frozen=True)
class Vendor:
    name: str
    kind: str
    protocol: str
    make: BackendFactory
    doc: str = ""


def scpi_vendor(name: str, spec: KindSpec, cls: Any = None, doc: str = "") -> Vendor:
    """A vendor whose controller speaks the shared SCPI job protocol plus the kind's SCPI commands."""
    from drivers.backend import ScpiJobBackend

    backend = cls or ScpiJobBackend
    return Vendor(name, spec.kind, "scpi", lambda tool_id, address, endpoints, timeout_s: backend(
        tool_id, address, spec.wire("scpi"), timeout_s), doc)


def plc_vendor(name: str, spec: KindSpec, cls: Any = None, doc: str = "") -> Vendor:
    """A vendor whose controller is a PLC with the shared Modbus job block plus the kind's registers."""
    from drivers.modbus_backend import ModbusJobBackend

    backend = cls or ModbusJobBackend
    return Vendor(name, spec.kind, "modbus", lambda tool_id, address, endpoints, timeout_s: backend(
        tool_id, address, spec.wire("modbus"), timeout_s, alarms=spec.all_alarms, endpoints=endpoints), doc)


NOT_VENDOR_MODULES = {"driver", "spec", "interface", "recipe", "model", "backend"}


@cache
def vendors(kind: str) -> tuple[Vendor, ...]:
    """Every vendor backend in `drivers/<kind>/`."""
    package = importlib.import_module(f"{drivers.__name__}.{kind}")
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg or info.name in NOT_VENDOR_MODULES:
            continue
        vendor = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "VENDOR", None)
        if isinstance(vendor, Vendor):
            found.append(vendor)
    return tuple(sorted(found, key=lambda v: v.name))


def vendor_for(kind: str, address: str, vendor: str = "") -> Vendor:
    """The vendor backend a tool uses: the one named, else the kind's one speaking the address's protocol."""
    known = vendors(kind)
    if vendor:
        for v in known:
            if v.name == vendor:
                return v
        raise UnknownName(f"{kind} has no vendor backend {vendor!r}; known: {', '.join(v.name for v in known)}")
    protocol = PROTOCOL_OF_ADDRESS.get(parse_address(address).protocol, "")
    speaking = [v for v in known if v.protocol == protocol]
    if len(speaking) == 1:
        return speaking[0]
    if not speaking:
        raise UnknownName(f"no {kind} vendor backend speaks {protocol or address}; known: "
                          + ", ".join(f"{v.name} ({v.protocol})" for v in known))
    raise UnknownName(f"{kind} has {len(speaking)} vendor backends speaking {protocol}: name one with `vendor:` "
                      f"({', '.join(v.name for v in speaking)})")
