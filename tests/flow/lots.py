"""What the flow tests of holds and decisions share: a flow run in a thread, the jobs a lot ran on
the simulated tools, wafers brought onto the line, leases, a line of PLC tools."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.errors import CommunicationLost
from drivers.transport.modbus import ModbusTransport
from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import Route, load_route
from tests.support import ROOT, wait_until

RECIPES = str(ROOT / "recipes")
A = str(ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml")
C = str(ROOT / "recipes/routes/product-c-paste-core-bump.yaml")
AFTER_C03 = ("C04", "C04b", "C05", "C06", "C07")   # product C's steps after its cup metal
PRINTERS = ("SP01", "SP02")
SPUTTERS = ("PVD01", "PVD02")


class InThread:
    """A flow run in a thread of its own (what a second orchestrator, or an operator, runs beside)."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.out: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.out = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the test by result()
                self.error = exc

        self.thread = threading.Thread(target=run, name="flow-under-test", daemon=True)
        self.thread.start()

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self, timeout_s: float = 200) -> Any:
        wait_until(self.done, timeout_s, "the flow run to end")
        if self.error is not None:
            raise self.error
        return self.out


def lot_jobs(sim: Any, lot_id: str) -> dict[str, Any]:
    """Every job the simulated tools have for this lot: job id → SimJob."""
    return {jid: job for tool in sim.tools.values() for jid, job in tool.jobs.items() if jid.startswith(f"{lot_id}.")}


def bring_on(sim: Any, route_path: str, lot_id: str, wafers: int = 1) -> Route:
    """The lot's wafers arrive at the simulated line with their product's incoming design."""
    route = load_route(route_path, RecipeCatalog(ROOT / "recipes"))
    design = route.design()
    for slot in range(1, wafers + 1):
        sim.world.start_wafer(f"{lot_id}.{slot:02d}", design)
    return route


def all_leases_free(ledger: Ledger, sim: Any, lot_id: str) -> bool:
    return all(ledger.lease_holder(t) is None for t in sim.tools) and ledger.lease_holder(f"lot:{lot_id}") is None


def plc_line(path: Path, sim: Any, comm_budget_s: float = 30.0) -> Path:
    """A line config of the simulated PLC tools (Modbus TCP) on their real ports."""
    tools = "".join(f"  - id: {tid}\n    kind: {tool.kind}\n    address: modbus-tcp://127.0.0.1:{sim.ports()[tid]}/1\n"
                    f"    comm_budget_s: {comm_budget_s}\n" for tid, tool in sim.tools.items())
    path.write_text(f"apiVersion: bumpline/v1\nkind: Line\nmetadata: {{name: plc-line}}\ntools:\n{tools}")
    return path


def modbus_answers(port: int) -> bool:
    """A new Modbus TCP connection to the port gets an answer (one try, no reconnects)."""
    probe = ModbusTransport("probe", "127.0.0.1", port, timeout_s=1, reconnect_attempts=0)
    try:
        probe.read(0, 1)
        return True
    except CommunicationLost:
        return False
    finally:
        probe.close()


