"""Tool kinds known to the line, discovered: every package `drivers/<kind>/` whose `driver.py` sets
`DRIVER`. Adding a kind adds a folder; nothing here or in `line/` changes."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

import drivers
from drivers.base import ToolDriver


@lru_cache(maxsize=1)
def _discover() -> dict[str, type[ToolDriver]]:
    found: dict[str, type[ToolDriver]] = {}
    for mod in pkgutil.iter_modules(drivers.__path__):
        if not mod.ispkg:
            continue
        try:
            module = importlib.import_module(f"drivers.{mod.name}.driver")
        except ModuleNotFoundError as exc:
            if exc.name == f"drivers.{mod.name}.driver":
                continue  # a support package (e.g. transport), not a tool kind
            raise
        cls = getattr(module, "DRIVER", None)
        if cls is not None:
            found[cls.kind] = cls
    return dict(sorted(found.items()))


class _Drivers(dict):
    """Lazy view so importing the registry does not import every kind up front."""

    def _load(self) -> None:
        if not super().__len__():
            super().update(_discover())

    def __getitem__(self, key: str) -> type[ToolDriver]:
        self._load()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)

    def __iter__(self):  # noqa: ANN204
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def keys(self):  # noqa: ANN201
        self._load()
        return super().keys()

    def items(self):  # noqa: ANN201
        self._load()
        return super().items()

    def values(self):  # noqa: ANN201
        self._load()
        return super().values()


DRIVERS: dict[str, type[ToolDriver]] = _Drivers()


def driver_class(kind: str) -> type[ToolDriver]:
    try:
        return DRIVERS[kind]
    except KeyError:
        raise KeyError(f"unknown tool kind {kind!r}; known: {', '.join(sorted(DRIVERS))}") from None
