"""The line config (deploy/lines/*.yaml): which tools exist, their kind, address and limits.

Switching a tool from simulator to real hardware is a change of `address` here, nothing else.
"""
from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from drivers.errors import UnknownName
from drivers.limits import Limit
from drivers.registry import DRIVERS
from drivers.transport.address import parse_address
from line.yamlio import DocumentError, Problem, load_yaml, validate


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known_kind(v: str) -> str:
    if v not in DRIVERS:
        raise ValueError(f"unknown tool kind {v!r}; known: {', '.join(sorted(DRIVERS))}")
    return v


ToolKind = Annotated[str, AfterValidator(_known_kind)]
"""A tool kind some `drivers/<kind>/` package provides."""


class Metadata(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""


class LimitOverride(Strict):
    min: float | None = None
    max: float | None = None


class BatchPolicy(Strict):
    """How a batch tool (oven, wet bench) shares one job among lots of the same recipe body."""
    max_wafers: int = Field(25, ge=1, le=25, description="wafers one job carries (the boat or cassette; 25 slots)")
    max_wait_min: float = Field(0.0, ge=0, le=240,
                                description="process minutes the free tool waits for more lots of the recipe "
                                            "before it starts with what it has (0: take who waits now)")


class ToolConfig(Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_-]*$", description="tool id, e.g. PVD01")
    kind: ToolKind
    address: str = Field(description="TCPIP0::HOST::PORT::SOCKET (SCPI) or modbus-tcp://HOST:PORT/UNIT")
    vendor: str = Field("", description="the vendor backend (a module in drivers/<kind>/ setting VENDOR); empty: "
                                        "the kind's one speaking the address's protocol")
    bay: str = ""
    endpoints: dict[str, str] = Field(default_factory=dict, description="auxiliary addresses, e.g. per-cell rectifiers")
    limits: dict[str, LimitOverride] = {}
    capabilities: dict[str, Any] = Field(default_factory=dict,
                                         description="what this tool holds, e.g. {bath: Cu-acid}: a recipe whose "
                                                     "parameter of the same name differs cannot run here")
    comm_budget_s: float = Field(30.0, gt=0, le=3600,
                                 description="how long a silent tool is ridden out mid-job (reconnecting) before "
                                             "the lot holds COMMUNICATION; the job runs on and is reattached")
    qualified: list[str] = Field(default_factory=list,
                                 description="names of the recipes this tool is qualified to run (shell-style "
                                             "patterns, e.g. rfl-*); empty: every recipe of its kind")
    options: dict[str, Any] = Field(default_factory=dict, description="simulator options (ignored by real tools)")
    batch: BatchPolicy | None = Field(None, description="lots of one recipe may share a job on this tool (a kind "
                                                        "that processes every wafer at once); none: a lot a job")

    def accepts(self, parameters: dict[str, Any]) -> bool:
        """Capability match for dispatch: every capability the recipe names must agree."""
        return all(parameters.get(k, v) == v for k, v in self.capabilities.items())

    def refusal(self, kind: str, recipe_name: str, parameters: dict[str, Any]) -> str | None:
        """Why this tool may not run the recipe (its kind, a capability, its qualification), or None."""
        if kind != self.kind:
            return f"{self.id} is of kind {self.kind}, the recipe is for kind {kind}"
        if not self.accepts(parameters):
            wanted = {k: parameters[k] for k in self.capabilities if k in parameters}
            return f"{self.id} holds {self.capabilities}, the recipe needs {wanted}"
        if self.qualified and not any(fnmatchcase(recipe_name, p) for p in self.qualified):
            return f"{self.id} is not qualified for {recipe_name} (qualified: {', '.join(self.qualified)})"
        return None

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        parse_address(v)
        return v

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, v: dict[str, str]) -> dict[str, str]:
        for address in v.values():
            parse_address(address)
        return v

    @model_validator(mode="after")
    def _limit_names(self) -> ToolConfig:
        declared = DRIVERS[self.kind].limits
        for name in self.limits:
            if name not in declared:
                raise ValueError(f"{self.id}: {self.kind} has no limit {name!r}; declared: {', '.join(sorted(declared))}")
        if self.batch is not None and not DRIVERS[self.kind].spec.batch:
            batch_kinds = ", ".join(sorted(k for k, d in DRIVERS.items() if d.spec.batch))
            raise ValueError(f"{self.id}: batch: a {self.kind} processes its wafers one job at a time and cannot "
                             f"share a job among lots (batch kinds: {batch_kinds})")
        return self

    def effective_limits(self) -> dict[str, Limit]:
        """The kind's hard limits, narrowed by this tool's overrides (never widened)."""
        out = dict(DRIVERS[self.kind].limits)
        for name, o in self.limits.items():
            hard = out[name]
            lo = hard.min if o.min is None else max(o.min, hard.min if hard.min is not None else o.min)
            hi = hard.max if o.max is None else min(o.max, hard.max if hard.max is not None else o.max)
            out[name] = Limit(lo, hi, hard.unit)
        return out


class SimulationConfig(Strict):
    speed: float = Field(600.0, gt=0, description="virtual seconds per wall second")
    seed: int = 0
    control: str = Field("127.0.0.1:15000", description="simulator control port host:port")
    drift: bool = Field(False, description="tools age from their consumables: sputter rate with target kWh, plating "
                                           "efficiency and uniformity with bath and anode ampere-hours, paste transfer "
                                           "with prints since a wipe (a tool's `options: {drift: …}` overrides it)")
    token_file: str | None = Field(None, description="the file the control port writes its token to (default: "
                                                     "$BUMPLINE_HOME/sim-control-<port>.token)")


class LineConfig(Strict):
    apiVersion: Literal["bumpline/v1"]
    kind: Literal["Line"]
    metadata: Metadata
    simulation: SimulationConfig | None = None
    arrival: str | None = Field(None, pattern=r"^(fab|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$",
                                description="how wafers arrive: `fab` (the load port and MES know them) or a "
                                            "`module:Class` (default: the simulated load port with a "
                                            "`simulation` section, else `fab`)")
    tools: list[ToolConfig] = Field(min_length=1)
    _source: str = PrivateAttr(default="<memory>")

    @property
    def source(self) -> str:
        """The file this config was read from (named in recipe-limit errors)."""
        return self._source

    @property
    def arrival_ref(self) -> str:
        if self.arrival:
            return self.arrival
        return "sim_hw.load_port:SimulatedLoadPort" if self.simulation else "fab"

    @model_validator(mode="after")
    def _unique(self) -> LineConfig:
        seen: set[str] = set()
        for t in self.tools:
            if t.id in seen:
                raise ValueError(f"tool id {t.id} appears twice")
            seen.add(t.id)
        return self

    def tool(self, tool_id: str) -> ToolConfig:
        for t in self.tools:
            if t.id == tool_id:
                return t
        raise UnknownName(f"line {self.metadata.name} has no tool {tool_id!r}; tools: {', '.join(t.id for t in self.tools)}")

    def tools_of(self, kind: str) -> list[ToolConfig]:
        return [t for t in self.tools if t.kind == kind]

    def may_run(self, kind: str, recipe_name: str, parameters: dict[str, Any]) -> list[ToolConfig]:
        """The tools of this line that may run the recipe (kind, capabilities, qualification)."""
        return [t for t in self.tools_of(kind) if t.refusal(kind, recipe_name, parameters) is None]

    def why_none_may_run(self, kind: str, recipe_name: str, parameters: dict[str, Any]) -> str:
        """Each tool of the kind with its reason for refusing the recipe."""
        tools = self.tools_of(kind)
        if not tools:
            return f"line {self.metadata.name} has no {kind}"
        return "; ".join(str(t.refusal(kind, recipe_name, parameters)) for t in tools)


def load_line(path: str | Path) -> LineConfig:
    path = str(path)
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise DocumentError([Problem(path, 1, 1, "", "document-type", "a line config must be a mapping")])
    cfg = validate(path, doc, LineConfig)
    cfg._source = path
    return cfg


def rebind_ports(cfg: LineConfig, ports: dict[str, int],
                 endpoint_ports: dict[str, dict[str, int]] | None = None, speed: float | None = None) -> LineConfig:
    """A copy of the config with simulator-chosen ports (tests and the demo start simulators on port 0)
    and, given `speed`, the clock the simulators really run at (the host paces its polls by it)."""
    tools = []
    for t in cfg.tools:
        if t.id in ports:
            t = t.model_copy(update={"address": str(parse_address(t.address).with_port(ports[t.id]))})
        if endpoint_ports and t.id in endpoint_ports:
            eps = {name: str(parse_address(t.endpoints.get(name, "TCPIP0::127.0.0.1::0::SOCKET")).with_port(port))
                   for name, port in endpoint_ports[t.id].items()}
            t = t.model_copy(update={"endpoints": eps})
        tools.append(t)
    update: dict[str, Any] = {"tools": tools}
    if speed is not None and cfg.simulation is not None:
        update["simulation"] = cfg.simulation.model_copy(update={"speed": speed})
    new = cfg.model_copy(update=update)
    new._source = cfg.source
    return new


def save_line(cfg: LineConfig, path: str | Path, control: str | None = None, token_file: str | None = None) -> str:
    """Write a line config (e.g. one `rebind_ports` made for simulators on free ports) as YAML, so a
    flow, a worker or another process is given a file like any other; `control`: its simulator
    control port (host:port), `token_file`: where that port's token is."""
    from ruamel.yaml import YAML

    doc = cfg.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    doc.setdefault("apiVersion", cfg.apiVersion)
    doc.setdefault("kind", cfg.kind)
    if control:
        doc.setdefault("simulation", {})["control"] = control
    if token_file:
        doc.setdefault("simulation", {})["token_file"] = token_file
    with Path(path).open("w") as fh:
        YAML().dump(doc, fh)
    return str(path)
