"""A lot as data, for scripts: `lot list --json`, `lot show --json` and `lot show --csv` (every
measurement with the limits it was judged by; with `--sites`, every wafer-map site with its
position). JSON keys are stable; times are ISO 8601 UTC."""
from __future__ import annotations

import csv
import sys
from typing import Any

from line.ledger import Ledger
from line.ledger import models as m


def _iso(t: Any) -> str | None:
    return t.isoformat() if t is not None else None


def lot_summary(lot: m.Lot) -> dict[str, Any]:
    return {"lot": lot.id, "product": lot.product, "route": lot.route, "status": lot.status,
            "hold_reason": lot.hold_reason, "priority": lot.priority, "created": _iso(lot.created_at),
            "updated": _iso(lot.updated_at)}


def lot_detail(ledger: Ledger, lot: m.Lot) -> dict[str, Any]:
    steps = []
    for r in ledger.step_runs(lot.id):
        steps.append({
            "step": r.step_id, "rework": r.rework, "operation": r.operation, "tool": r.tool_id, "job": r.job_id,
            "recipe": f"{r.recipe_name}@v{r.recipe_version}", "recipe_sha256": r.recipe_hash, "status": r.status,
            "started": _iso(r.started_at), "ended": _iso(r.ended_at),
            "results": [{"wafer": x.wafer_id, "status": x.status} for x in ledger.results(r.id)],
            "measurements": [measurement(ms) for ms in ledger.measurements(r.id)],
            "sites": [site(x) for x in ledger.site_measurements(r.id)],
        })
    return {**lot_summary(lot),
            "wafers": [{"wafer": w.id, "slot": w.slot, "state": w.state} for w in ledger.wafers(lot.id)],
            "steps": steps,
            "alarms": [alarm_record(a) for a in ledger.alarms(lot.id)],
            "holds": [{"type": h.reason_type, "reason": h.reason, "created": _iso(h.created_at),
                       "decision": h.decision or None, "operator": h.decided_by or None,
                       "decided": _iso(h.decided_at), "note": h.note} for h in ledger.holds(lot.id)]}


def alarm_record(a: m.Alarm) -> dict[str, Any]:
    return {"tool": a.tool_id, "alid": a.alid, "name": a.name, "text": a.text, "wafer": a.wafer_id, "job": a.job_id,
            "raised": _iso(a.raised_at), "cleared": _iso(a.cleared_at), "acknowledged_by": a.acknowledged_by or None,
            "acknowledged": _iso(a.acknowledged_at), "note": a.ack_note}


def measurement(ms: m.Measurement) -> dict[str, Any]:
    return {"wafer": ms.wafer_id, "name": ms.name, "value": ms.value, "unit": ms.unit, "target": ms.target,
            "lsl": ms.lsl, "usl": ms.usl, "pass": ms.passed}


def site(x: m.SiteMeasurement) -> dict[str, Any]:
    return {"wafer": x.wafer_id, "name": x.name, "site": x.site, "x_mm": x.x_mm, "y_mm": x.y_mm, "value": x.value,
            "unit": x.unit}


RUN_FIELDS = ["lot", "step", "rework", "tool", "job"]
CSV_FIELDS = [*RUN_FIELDS, "wafer", "name", "value", "unit", "target", "lsl", "usl", "pass"]
SITE_FIELDS = [*RUN_FIELDS, "wafer", "name", "site", "x_mm", "y_mm", "value", "unit"]


def write_csv(ledger: Ledger, lot_id: str, path: str, sites: bool = False) -> None:
    """Every measurement of the lot, one row each — or with `sites`, every wafer-map site ('-':
    standard output)."""
    out = sys.stdout if path == "-" else open(path, "w", newline="", encoding="utf-8")
    try:
        w = csv.DictWriter(out, SITE_FIELDS if sites else CSV_FIELDS)
        w.writeheader()
        for r in ledger.step_runs(lot_id):
            run = {"lot": lot_id, "step": r.step_id, "rework": r.rework, "tool": r.tool_id, "job": r.job_id}
            rows = [site(x) for x in ledger.site_measurements(r.id)] if sites else \
                [measurement(ms) for ms in ledger.measurements(r.id)]
            for row in rows:
                w.writerow({**run, **row})
    finally:
        if out is not sys.stdout:
            out.close()
