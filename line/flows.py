"""Prefect flows. One flow run per lot; each tool step is a task (no cache, no retries: a physical
process is never re-run blindly). Tasks get ids and paths, never connections."""
from __future__ import annotations

import line.prefect_env  # noqa: F401  (Prefect settings before Prefect is imported)

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from line.config import load_line, rebind_ports
from line.dashboard import artifact_key
from line.ledger import Ledger
from line.recipes.tool_recipe import load_tool_recipe
from line.steps import StepOutcome, ToolStep


@task(name="tool-step", retries=0, cache_policy=NO_CACHE, task_run_name="{step_id} on {tool_id}")
def tool_step_task(lot_id: str, step_id: str, tool_id: str, recipe_path: str, line_path: str,
                   wafers: list[str], db_url: str | None, ports: dict[str, int] | None,
                   endpoint_ports: dict[str, dict[str, int]] | None, tolerance_pct: float,
                   flow_run_id: str) -> dict[str, Any]:
    line = load_line(line_path)
    if ports:
        line = rebind_ports(line, ports, endpoint_ports)
    tool = line.tool(tool_id)
    recipe = load_tool_recipe(recipe_path, [tool])
    ledger = Ledger(db_url)
    try:
        outcome = ToolStep(ledger, tool, recipe, lot_id, step_id, wafers, flow_run_id=flow_run_id,
                           tolerance_pct=tolerance_pct).execute()
    finally:
        ledger.dispose()
    log = get_run_logger()
    (log.info if outcome.status == "COMPLETE" else log.warning)(outcome.headline)
    return outcome.to_dict()


@flow(name="lot-single-step", persist_result=False)
def lot_step_flow(lot_id: str, wafer_count: int, tool_id: str, recipe_path: str, line_path: str,
                  step_id: str = "S1", db_url: str | None = None, ports: dict[str, int] | None = None,
                  endpoint_ports: dict[str, dict[str, int]] | None = None,
                  tolerance_pct: float = 10.0) -> dict[str, Any]:
    """Run one lot of `wafer_count` wafers through one tool step and record it all in the ledger."""
    ledger = Ledger(db_url)
    try:
        wafers = ledger.ensure_lot(lot_id, wafer_count, route=f"single-step:{recipe_path}")
        ledger.set_lot_status(lot_id, "RUNNING", trigger="dispatch")
    finally:
        ledger.dispose()
    run_id = str(get_run_context().flow_run.id)
    result = tool_step_task(lot_id, step_id, tool_id, recipe_path, line_path, wafers, db_url, ports,
                            endpoint_ports, tolerance_pct, run_id)
    outcome = StepOutcome(**result)
    ledger = Ledger(db_url)
    try:
        if outcome.status == "COMPLETE":
            ledger.set_lot_status(lot_id, "COMPLETE", trigger="route-complete")
        publish_lot_artifact(ledger, lot_id, outcome)
    finally:
        ledger.dispose()
    return result


def publish_lot_artifact(ledger: Ledger, lot_id: str, outcome: StepOutcome) -> None:
    """A markdown artifact per lot: the operator's view of the step in the Prefect UI."""
    lines = [f"# Lot {lot_id}", "", f"**{outcome.headline}**", "",
             f"Recipe `{outcome.recipe}` sha256 `{outcome.recipe_hash[:16]}…` on **{outcome.tool_id}**, job `{outcome.job_id}`", "",
             "| wafer | status | measurements |", "|---|---|---|"]
    by_wafer: dict[str, list[str]] = {}
    for ms in ledger.measurements(outcome.step_run_id):
        by_wafer.setdefault(ms.wafer_id, []).append(f"{ms.name}={ms.value:g} {ms.unit}")
    for wafer, status in outcome.wafer_status.items():
        lines.append(f"| {wafer} | {status} | {'; '.join(by_wafer.get(wafer, []))} |")
    for a in ledger.alarms(lot_id):
        lines += ["", f"Alarm {a.alid} {a.name} on {a.tool_id}: {a.text}"]
    create_markdown_artifact("\n".join(lines), key=artifact_key("lot", lot_id),
                             description=f"Lot {lot_id}: {outcome.status}")
