"""Image artifacts of a finished step: URLs of the line's chart service (`line.chart_server`), which
draws them from the ledger when the UI asks — the same chart whichever worker ran the lot, and no
drawing on the step's path."""
from __future__ import annotations

import logging
import os
from urllib.parse import urlencode

from line.ledger import Ledger
from line.spc.view import chart_url

log = logging.getLogger(__name__)


def charts_url() -> str:
    """Where the line's chart service answers (`BUMPLINE_CHARTS_URL`; `serve` sets it): "" for none."""
    return os.environ.get("BUMPLINE_CHARTS_URL", "").rstrip("/")


def publish_step_charts(ledger: Ledger, step_run_id: int) -> int:
    """Image artifacts for a finished step, one pair per measurement it was judged on (has limits):
    its values per wafer, and its trend across the last lots on this tool; its SPC charts (where a
    baseline is frozen); and the wafer maps of every quantity it measured at sites — URLs of the chart
    service, so the UI draws them from the ledger whichever worker ran the lot. None without a chart
    service. Returns how many were made."""
    from prefect.artifacts import create_image_artifact

    base = charts_url()
    if not base:
        return 0
    run = ledger.step_run(step_run_id)
    names = sorted({ms.name for ms in ledger.measurements(step_run_id) if ms.lsl is not None or ms.usl is not None})
    made = 0
    for name in names:
        try:
            create_image_artifact(f"{base}/charts/step.png?{urlencode({'run': run.id, 'measurement': name})}",
                                  description=f"{run.lot_id} {run.step_id} on {run.tool_id}: {name} per wafer")
            create_image_artifact(f"{base}/charts/trend.png?"
                                  f"{urlencode({'step': run.step_id, 'measurement': name, 'tool': run.tool_id})}",
                                  description=f"{run.step_id} {name} on {run.tool_id}: trend over the last lots")
            made += 2
        except Exception as exc:  # noqa: BLE001 - a view, never a reason to stop a lot
            log.debug("charts of %s not published: %s", run.job_id, exc)
    for row in [b for b in ledger.spc_baselines() if b.step_id == run.step_id and b.tool_id == run.tool_id]:
        try:
            create_image_artifact(chart_url(base, row.step_id, row.measurement, row.tool_id),
                                  description=f"SPC {row.step_id} {row.measurement} on {row.tool_id} after lot {run.lot_id}")
            made += 1
        except Exception as exc:  # noqa: BLE001 - a view, never a reason to stop a lot
            log.debug("SPC chart of %s not published: %s", run.job_id, exc)
    for name in sorted({site.name for site in ledger.site_measurements(step_run_id)}):
        try:
            create_image_artifact(f"{base}/charts/map.png?{urlencode({'run': run.id, 'measurement': name})}",
                                  description=f"{run.lot_id} {run.step_id} on {run.tool_id}: {name} wafer maps")
            made += 1
        except Exception as exc:  # noqa: BLE001 - a view, never a reason to stop a lot
            log.debug("wafer maps of %s not published: %s", run.job_id, exc)
    return made
