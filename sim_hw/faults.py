"""Fault injection: each simulator declares the faults it knows; tests arm them by name."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import UnknownName


@dataclass
class Fault:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    one_shot: bool = True


class FaultBook:
    def __init__(self, tool_id: str, known: dict[str, str]) -> None:
        self.tool_id = tool_id
        self.known = dict(known)
        self._armed: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self.fired: list[Fault] = []

    def inject(self, name: str, one_shot: bool | None = None, **params: Any) -> Fault:
        if name not in self.known:
            raise UnknownName(f"{self.tool_id}: unknown fault {name!r}; known: {', '.join(sorted(self.known))}")
        persistent = params.pop("persistent", False)
        fault = Fault(name, params, one_shot=not persistent if one_shot is None else one_shot)
        with self._lock:
            self._armed[name] = fault
        return fault

    def clear(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._armed.clear()
            else:
                self._armed.pop(name, None)

    def active(self, name: str) -> Fault | None:
        with self._lock:
            return self._armed.get(name)

    def take(self, name: str) -> Fault | None:
        """The armed fault, consumed if one-shot (it fires once)."""
        with self._lock:
            fault = self._armed.get(name)
            if fault is not None:
                self.fired.append(fault)
                if fault.one_shot:
                    del self._armed[name]
            return fault

    def armed(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {n: {"params": f.params, "one_shot": f.one_shot} for n, f in self._armed.items()}
