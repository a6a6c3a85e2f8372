"""The operator's entry point: `run-lot`, the flow behind the Prefect deployment whose run form
starts a lot from the UI. Its parameters are typed (the route is a drop-down of the routes in
`recipes/routes/`), and it runs the lot flow in the same flow run, so a lot is one run in the UI:
its steps are its task runs, its holds pause it with a typed form, its artifacts are on its page."""
from __future__ import annotations

import line.prefect_env  # noqa: F401 - Prefect's settings, before Prefect is imported

# isort: split

import os
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run as this_run
from prefect.states import State
from pydantic import Field

from drivers.registry import SPECS
from line.arrival import bring_onto_line
from line.config import load_line
from line.ledger import Ledger
from line.lot_flow import lot_flow
from line.recipes.catalog import RecipeCatalog
from line.recipes.qualification import load_runnable_route
from line.recipes.route import load_route

ROOT = Path(__file__).resolve().parents[1]
ROUTES_DIR = ROOT / "recipes" / "routes"
# the routes on disk are the members (the Prefect UI's drop-down): mypy cannot list them statically
RouteName = Enum("RouteName", {p.stem: p.stem for p in sorted(ROUTES_DIR.glob("*.yaml"))}, type=str)  # type: ignore[misc]


def line_path() -> str:
    """The line config this worker drives (`bumpline serve` points it at the simulators it started)."""
    return os.environ.get("BUMPLINE_LINE", str(ROOT / "deploy/lines/sim.yaml"))


def default_lot_id(product: str, flow_run_id: str, scheduled: datetime) -> str:
    """The id of a lot started with a blank lot id: made from its flow run, so `bumpline resume`
    resubmitting a run whose worker died names the same lot (never a second one for one request)."""
    return f"{product}-{scheduled.astimezone(UTC):%Y%m%d-%H%M%S}-{flow_run_id[:4]}"


def _run_name() -> str:
    p = this_run.parameters
    return p.get("lot_id") or f"new lot ({getattr(p.get('route'), 'value', p.get('route'))})"


@flow(name="run-lot", flow_run_name=_run_name, persist_result=False)
def run_lot(route: RouteName, lot_id: str = "", wafers: int = 25, priority: int = 0,
            hold_timeout_min: int = 240) -> dict[str, Any] | State:
    """Start (or carry on) a lot of `wafers` wafers over `route`. A hold waits `hold_timeout_min`
    minutes for an operator's decision in this run's Resume form, then the lot stays on hold.
    `priority` orders the lot in the dispatch queue (higher first, after a queue-time limit close to running out)."""
    name = getattr(route, "value", route)
    route_file = ROUTES_DIR / f"{name}.yaml"
    cfg = load_line(line_path())
    r = load_route(route_file, RecipeCatalog(ROOT / "recipes", cfg.tools))
    if not lot_id:
        lot_id = default_lot_id(r.label, str(this_run.id), this_run.scheduled_start_time)
        name_run(str(this_run.id), lot_id)
    ledger = Ledger()
    try:
        new = ledger.lot(lot_id) is None
    finally:
        ledger.dispose()
    if new:
        load_runnable_route(route_file, ROOT / "recipes", cfg)      # lint and tools, before any wafer moves
        bring_onto_line(cfg, r, lot_id, wafers)
    get_run_logger().info(f"lot {lot_id}: {wafers} wafers of product {r.label} over {r.ref} on "
                          f"{cfg.metadata.name}{'' if new else ' (carrying on)'}")
    # the lot flow's own final state (OnHold, Aborted …) becomes this run's: a held lot is never Completed
    return lot_flow.fn(lot_id, str(route_file), wafers, line_path(), str(ROOT / "recipes"), priority=priority,
                       hold_timeout_s=hold_timeout_min * 60)


def name_run(flow_run_id: str, lot_id: str) -> None:
    """A run started with a blank lot id is renamed to the id it made, so the runs list reads as lots."""
    from uuid import UUID

    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(flow_run_id), name=lot_id)
    except Exception as exc:  # noqa: BLE001 - a name is a convenience; the lot runs regardless
        get_run_logger().warning(f"flow run not renamed to {lot_id}: {exc}")


@flow(name="acknowledge-alarm", flow_run_name="ack {tool} by {operator}", persist_result=False)
def acknowledge_alarm(tool: Annotated[str, Field(min_length=1, description="the tool id, e.g. SP01")],
                      operator: Annotated[str, Field(min_length=1, pattern=r"\S", description="who acknowledges")],
                      alid: Annotated[int | None, Field(description="only this alarm (blank: all the tool's open ones)")] = None,
                      note: str = "") -> dict[str, Any] | State:
    """Acknowledge a tool's open alarms: who, when and the note go to the ledger and the line view.
    The tool stays down — dispatch leaves it last, E10 counts unscheduled downtime — until the tool
    itself reports the alarm cleared."""
    from prefect.states import Failed

    from line.alarms import NoOpenAlarm, acknowledge

    cfg = load_line(line_path())
    if tool not in {t.id for t in cfg.tools}:
        return Failed(name="UnknownTool", message=f"line {cfg.metadata.name} has no tool {tool!r}; it has "
                                                  f"{', '.join(t.id for t in cfg.tools)}")
    try:
        done = acknowledge(tool, operator, alid, note)
    except NoOpenAlarm as none:
        return Failed(name="NoOpenAlarm", message=str(none))
    get_run_logger().info(f"{operator} acknowledged {', '.join(f'{a.alid} {a.name}' for a in done)} on {tool}; "
                          f"it stays down until {tool} reports the alarm cleared")
    return {"tool": tool, "acknowledged": [a.alid for a in done], "by": operator}


DOWNS = {"down-scheduled": "scheduled", "down-unscheduled": "unscheduled", "down-engineering": "engineering"}
# every kind's maintenance actions, then taking a tool down and up: the form's drop-down
MaintenanceAction = Enum("MaintenanceAction", {a: a for a in [  # type: ignore[misc]
    *sorted({a.name for spec in SPECS.values() for a in spec.maintenance}), *DOWNS, "up"]}, type=str)


@flow(name="maintain-tool", flow_run_name="{action} {tool} by {by}", persist_result=False)
def maintain_tool(tool: Annotated[str, Field(min_length=1, description="the tool id, e.g. EP01")],
                  action: MaintenanceAction,
                  by: Annotated[str, Field(min_length=1, pattern=r"\S", description="who does it")],
                  item: Annotated[str, Field(description="what it was done to, where the action needs it "
                                                         "(target-change: the material, e.g. Cu)")] = "",
                  note: str = "") -> dict[str, Any] | State:
    """Record maintenance with who, when and why: a consumable restarted (told to the tool over its
    protocol), or the tool taken down (scheduled, unscheduled, engineering — no lot is dispatched to it,
    E10 counts the state) or brought up."""
    from prefect.states import Failed

    from line.maintenance import MaintenanceRefused, bring_up, perform, take_down

    cfg = load_line(line_path())
    if tool not in {t.id for t in cfg.tools}:
        return Failed(name="UnknownTool", message=f"line {cfg.metadata.name} has no tool {tool!r}; it has "
                                                  f"{', '.join(t.id for t in cfg.tools)}")
    what = action.value if isinstance(action, Enum) else str(action)
    ledger = Ledger()
    try:
        if what in DOWNS:
            row = take_down(ledger, tool, DOWNS[what], by, note)
        elif what == "up":
            row = bring_up(ledger, tool, by, note)
        else:
            row = perform(ledger, cfg.tool(tool), what, by, note, item)
    except MaintenanceRefused as exc:
        return Failed(name="Refused", message=str(exc))
    finally:
        ledger.dispose()
    get_run_logger().info(f"{by}: {what} {item} on {tool} recorded")
    return {"tool": tool, "action": what, "item": row.item, "by": by}
