"""Every kind's declaration is complete and kept: its simulator answers every command its wire
interfaces declare, plays every fault and raises every alarm its spec declares, and its job-time
model and measurements are usable. A kind cannot declare what nothing implements."""
from __future__ import annotations

import inspect

import pytest

from drivers.modbus_jobs import COMMANDS
from drivers.registry import DRIVERS, SPECS
from drivers.scpi_spec import ScpiInterface
from drivers.spec import COMMON_FAULTS
from drivers.vendors import vendors
from sim_hw.modbus.server import PlcImage
from sim_hw.registry import simulators
from tests.contract.tiers import KINDS, body

SCPI_BUILTINS = {"next_error", "clear_status", "event_status", "status_byte", "operation_complete"}


def sim_sources(kind: str) -> str:
    """The kind's simulator code: its tool class and the modules of its package."""
    import importlib
    import pkgutil

    package = importlib.import_module(f"sim_hw.{kind}")
    return "".join(inspect.getsource(importlib.import_module(f"sim_hw.{kind}.{m.name}"))
                   for m in pkgutil.iter_modules(package.__path__))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_spec_a_front_end_a_vendor_and_a_simulator(kind: str) -> None:
    assert DRIVERS[kind].spec is SPECS[kind]
    assert vendors(kind), f"{kind} has no vendor backend"
    assert simulators()[kind].tool.spec is SPECS[kind]
    assert {v.protocol for v in vendors(kind)} <= set(simulators()[kind].servers_by_protocol), \
        f"a {kind} vendor speaks a protocol its simulator does not serve"


@pytest.mark.parametrize("kind", KINDS)
def test_every_declared_command_has_its_handler_on_the_simulator(kind: str) -> None:
    sim = simulators()[kind].tool
    for protocol, wire in SPECS[kind].wires.items():
        if not isinstance(wire, ScpiInterface):
            continue
        target = sim
        if wire.kind != kind:      # an auxiliary instrument of the tool (the plater's rectifiers)
            from sim_hw.plater.rectifier import RectifierSim
            target = RectifierSim
        missing = [c.header for c in wire.commands if c.handler not in SCPI_BUILTINS and not hasattr(target, c.handler)]
        assert not missing, f"{kind} {protocol}: no simulator handler for {missing}"
    missing = [name for name in COMMANDS if not hasattr(PlcImage, f"cmd_{name.lower()}")]
    assert not missing


@pytest.mark.parametrize("kind", KINDS)
def test_every_declared_fault_is_played_and_every_alarm_raised_by_the_simulator(kind: str) -> None:
    source = sim_sources(kind)
    spec = SPECS[kind]
    silent = [f.name for f in spec.faults if f'"{f.name}"' not in source]
    assert not silent, f"{kind} declares faults its simulator never plays: {silent}"
    unraised = [a.name for a in spec.alarms if f'self.alarm("{a.name}"' not in source]
    assert not unraised, f"{kind} declares alarms its simulator never raises: {unraised}"
    assert not {f.name for f in spec.faults} & {f.name for f in COMMON_FAULTS}


@pytest.mark.parametrize("kind", KINDS)
def test_the_job_time_model_and_the_recipe_model_agree(kind: str) -> None:
    spec = SPECS[kind]
    recipe = body(kind)
    spec.recipe_model.model_validate(recipe)
    one, five = spec.job_time_s(recipe, 1, {}), spec.job_time_s(recipe, 5, {})
    assert 0 < one <= five
