"""Fault injection: the faults a simulator plays are declared in its kind's spec (`FaultSpec`, with
typed parameters and defaults); tests and `bumpline sim fault` arm them by name."""
from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import UnknownName
from drivers.spec import FaultSpec


@dataclass
class Fault:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    """every declared parameter, given or defaulted (None: the simulator decides from context)"""
    one_shot: bool = True


class FaultBook:
    def __init__(self, tool_id: str, known: Iterable[FaultSpec]) -> None:
        self.tool_id = tool_id
        self.known: dict[str, FaultSpec] = {f.name: f for f in known}
        self._armed: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self.fired: list[Fault] = []

    def inject(self, name: str, one_shot: bool | None = None, **params: Any) -> Fault:
        """Arm a fault; its parameters are checked against the declaration and typed before it is armed."""
        if name not in self.known:
            raise UnknownName(f"{self.tool_id}: unknown fault {name!r}; known: {', '.join(sorted(self.known))}")
        persistent = params.pop("persistent", False)
        try:
            resolved = self.known[name].resolve(params)
        except UnknownName as exc:
            raise UnknownName(f"{self.tool_id}: {exc}") from None
        fault = Fault(name, resolved, one_shot=not persistent if one_shot is None else one_shot)
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
