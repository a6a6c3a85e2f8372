"""Find the tool kinds present: every subpackage of a package that has a given module defining a
given attribute. Used by the driver registry and by the simulator registry alike."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any


def discover(package: ModuleType, module: str, attribute: str) -> list[Any]:
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        name = f"{package.__name__}.{info.name}.{module}"
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a support package (transport, scpi, modbus), not a tool kind
            raise
        if (value := getattr(mod, attribute, None)) is not None:
            found.append(value)
    return found
