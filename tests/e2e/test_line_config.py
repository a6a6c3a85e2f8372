"""The shipped simulated line: every tool of every kind starts from the config and answers its driver."""
from __future__ import annotations

from drivers.registry import DRIVERS, driver_class
from line.cli.sim import sim_line
from line.config import load_line, rebind_ports
from tests.support import ROOT


def test_every_tool_of_the_sim_line_starts_and_identifies():
    cfg = load_line(ROOT / "deploy/lines/sim.yaml")
    kinds = {t.kind for t in cfg.tools}
    assert kinds == set(DRIVERS)                                  # every kind is on the line
    assert all(len(cfg.tools_of(k)) >= 1 for k in kinds) and len(cfg.tools) >= 14
    sim = sim_line(cfg, any_port=True).start_in_thread()
    try:
        bound = rebind_ports(cfg, sim.ports(), sim.endpoint_ports())
        for tool in bound.tools:
            d = driver_class(tool.kind)(tool.id, tool.address, endpoints=tool.endpoints)
            ident = d.connect()
            assert (ident.serial, ident.model) == (tool.id, tool.kind.upper())
            assert d.state == "IDLE"
            if tool.endpoints:
                assert len(d.cell_readings()) == len(tool.endpoints)   # every rectifier answers over SCPI
            d.close()
    finally:
        sim.stop_thread()
