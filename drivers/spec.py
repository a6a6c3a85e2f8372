"""`KindSpec`: everything about one tool kind, declared once in `drivers/<kind>/spec.py`.

The driver's front end, the simulator, the route linter's paper model, the contract suite and the
benchmarks all read a kind's spec; none restates it. A spec is data: the kind's phases and the ones
an interlock guards, its recipe model and hard limits, its alarms, the measurements it reports, the
faults its simulator can play (with typed parameters), a nominal job-time model, the wire
interfaces its vendors speak, and the process facts its paper model and its simulator share.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel

from drivers.errors import BadValue, UnknownName
from drivers.limits import Limit

JobTime = Callable[[dict[str, Any], int, dict[str, Any]], float]
GuardEntries = Callable[[dict[str, Any], int, dict[str, Any]], list[float]]
"""(recipe body, wafers in the job, tool options) -> simulated seconds from START to PROCESS_COMPLETE."""


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm a tool of the kind raises: its ALID, name and what it means."""
    alid: int
    name: str
    text: str


@dataclass(frozen=True)
class MaintenanceSpec:
    """A maintenance action a technician does on a tool of the kind, which the host then tells the tool
    (`MAIN:DO` / the PLC's MAINTAIN command) so its consumable counter restarts: `item` names what it
    was done to, when the action needs one (a target's material), from `items`."""
    name: str
    text: str
    item: str = ""
    items: tuple[str, ...] = ()

    def check(self, item: str) -> str:
        """The item as the tool is told it ("" when the action takes none); BadValue naming the choices."""
        if not self.item:
            return ""
        if item not in self.items:
            raise BadValue(f"{self.name} needs the {self.item} (one of {', '.join(self.items)}), not {item or 'none'}")
        return item


@dataclass(frozen=True)
class MeasurementSpec:
    """A measurement the kind reports per wafer. `name` may hold one `*` for a family (`thickness.*`,
    one per deposited material); `field` is the result-row field it comes from (empty: the kind's
    front end builds it); `target_field`, the row field holding its target, if any."""
    name: str
    unit: str
    doc: str = ""
    field: str = ""
    target_field: str = ""
    recipe_targets: Callable[[dict[str, Any], str], list[float]] | None = None
    """what the recipe body itself aims this measurement at (e.g. a layer's thickness), if it says:
    a route spec whose window holds none of them can never pass"""

    def matches(self, name: str) -> bool:
        return fnmatchcase(name, self.name)


@dataclass(frozen=True)
class FaultParam:
    """A fault parameter: its type, its default (None: the simulator decides from context, e.g.
    "the next wafer"), what it means."""
    name: str
    type: type
    default: Any = None
    doc: str = ""

    def coerce(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            if self.type is bool and isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            typed = self.type(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise BadValue(f"fault parameter {self.name}={value!r} is not a {self.type.__name__}") from exc
        if isinstance(typed, float) and not math.isfinite(typed):
            raise BadValue(f"fault parameter {self.name}={value!r} is not a finite number")
        if isinstance(typed, str) and len(typed) > 256:
            raise BadValue(f"fault parameter {self.name} is {len(typed)} characters (at most 256)")
        return typed


@dataclass(frozen=True)
class FaultSpec:
    """A fault the kind's simulator can play: name, what it does, its parameters."""
    name: str
    doc: str
    params: tuple[FaultParam, ...] = ()

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Every declared parameter, given or defaulted, coerced to its type; unknown ones refused."""
        known = {p.name: p for p in self.params}
        if unknown := sorted(set(given) - set(known)):
            raise UnknownName(f"fault {self.name} has no parameter {', '.join(unknown)}; "
                              f"declared: {', '.join(known) or 'none'}")
        return {n: p.coerce(given.get(n, p.default)) for n, p in known.items()}


def fault(name: str, doc: str, **params: tuple[type, Any, str] | tuple[type, Any]) -> FaultSpec:
    """Shorthand: `fault("hang", "…", for_s=(float, 1.0, "wall seconds"))`."""
    return FaultSpec(name, doc, tuple(FaultParam(n, *p) for n, p in params.items()))


COMMON_FAULTS: tuple[FaultSpec, ...] = (
    fault("drop_connection", "close every host connection and refuse new ones for `for_s` wall seconds",
          for_s=(float, 1.0, "wall seconds")),
    fault("hang", "stop answering (connections stay open) for `for_s` wall seconds",
          for_s=(float, 1.0, "wall seconds")),
    fault("stall", "hold a job in PROCESSING after its last wafer until the fault is cleared (`job`: only jobs "
                   "whose id starts with one of these comma-separated prefixes): a window of any length to cut "
                   "the host off in", job=(str, "", "comma-separated job id prefixes")),
)
"""Faults every simulated tool plays, whatever its kind (the link and the job sequencer)."""

COMMON_ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec(9000, "CONTROLLER_FAULT", "the tool's controller failed mid-job: wafers in work are incomplete"),
)
"""Alarms any tool may raise, whatever its kind."""


@dataclass(frozen=True)
class KindSpec:
    kind: str
    doc: str
    phases: tuple[str, ...]
    recipe_model: type[BaseModel]
    limits: Mapping[str, Limit]
    alarms: tuple[AlarmSpec, ...]
    measurements: tuple[MeasurementSpec, ...]
    job_time_s: JobTime
    wires: Mapping[str, Any]
    """protocol name ("scpi", "modbus") -> the interface declaration its vendors speak"""
    guarded_phases: tuple[str, ...] = ()
    guard_entries_s: GuardEntries | None = None
    """when the job is expected to enter a guarded phase, tool seconds from START, in order — from the
    same facts as `job_time_s` — so the host watches closely only around those moments (`line.pacing`);
    required of a kind with guarded phases"""
    faults: tuple[FaultSpec, ...] = ()
    facts: Any = None
    """the kind's process facts (a frozen dataclass) shared by its paper model and its simulator"""
    readings: tuple[str, ...] = field(default=())
    """live values reported with every status (`JobStatus.readings`)"""
    healthy_readings: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda body: {})
    """what a healthy tool reads while it runs this recipe body (every interlock satisfied): the
    readings the mock tier reports"""
    maintenance: tuple[MaintenanceSpec, ...] = ()
    """what a technician replaces, replenishes or cleans on a tool of this kind (its consumables)"""
    batch: bool = False
    """one job processes every wafer at once (a boat in an oven, a cassette in a tank): its time does
    not grow with the wafers, so lots of one recipe may share a job (`line.batching`)"""

    def maintenance_action(self, name: str) -> MaintenanceSpec:
        for a in self.maintenance:
            if a.name == name:
                return a
        known = ", ".join(a.name for a in self.maintenance) or "none"
        raise UnknownName(f"{self.kind}: no maintenance action {name!r} (its actions: {known})")

    def __post_init__(self) -> None:
        if unknown := set(self.guarded_phases) - set(self.phases):
            raise BadValue(f"{self.kind}: guarded phases {sorted(unknown)} are not phases")
        if self.guarded_phases and self.guard_entries_s is None:
            raise BadValue(f"{self.kind}: guarded phases need guard_entries_s (when the job enters them)")
        for what, names in (("alarm", [a.name for a in self.all_alarms]), ("alarm id", [a.alid for a in self.all_alarms]),
                            ("fault", [f.name for f in self.all_faults]),
                            ("measurement", [m.name for m in self.measurements])):
            if len(set(names)) != len(names):
                raise BadValue(f"{self.kind}: an {what} is declared twice")

    @property
    def all_faults(self) -> tuple[FaultSpec, ...]:
        return COMMON_FAULTS + self.faults

    def fault(self, name: str) -> FaultSpec:
        for f in self.all_faults:
            if f.name == name:
                return f
        raise UnknownName(f"{self.kind}: unknown fault {name!r}; known: {', '.join(f.name for f in self.all_faults)}")

    @property
    def all_alarms(self) -> tuple[AlarmSpec, ...]:
        return self.alarms + COMMON_ALARMS

    def alarm(self, name: str) -> AlarmSpec:
        for a in self.all_alarms:
            if a.name == name:
                return a
        raise UnknownName(f"{self.kind}: no alarm {name!r}; declared: {', '.join(a.name for a in self.alarms)}")

    def measurement(self, name: str) -> MeasurementSpec | None:
        return next((m for m in self.measurements if m.matches(name)), None)

    def wire(self, protocol: str) -> Any:
        try:
            return self.wires[protocol]
        except KeyError:
            raise UnknownName(f"{self.kind} has no {protocol} interface; it speaks {', '.join(self.wires)}") from None
