"""Image artifacts of a finished step: URLs of the line's chart service (`line.chart_server`), which
draws them from the ledger when the UI asks — the same chart whichever worker ran the lot, and no
drawing on the step's path."""
from __future__ import annotations

import logging
import os
from urllib.parse import urlencode

from line.ledger import Ledger
from line.prefect_api import create_artifact
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
    base = charts_url()
    if not base:
        return 0
    with ledger.together():         # the step's reads in one transaction
        run = ledger.step_run(step_run_id)
        names = sorted({ms.name for ms in ledger.measurements(step_run_id) if ms.lsl is not None or ms.usl is not None})
        baselines = [b for b in ledger.spc_baselines() if b.step_id == run.step_id and b.tool_id == run.tool_id]
        mapped = sorted({site.name for site in ledger.site_measurements(step_run_id)})
    images: list[tuple[str, str]] = []
    for name in names:
        images += [(f"{base}/charts/step.png?{urlencode({'run': run.id, 'measurement': name})}",
                    f"{run.lot_id} {run.step_id} on {run.tool_id}: {name} per wafer"),
                   (f"{base}/charts/trend.png?{urlencode({'step': run.step_id, 'measurement': name, 'tool': run.tool_id})}",
                    f"{run.step_id} {name} on {run.tool_id}: trend over the last lots")]
    images += [(chart_url(base, row.step_id, row.measurement, row.tool_id),
                f"SPC {row.step_id} {row.measurement} on {row.tool_id} after lot {run.lot_id}") for row in baselines]
    images += [(f"{base}/charts/map.png?{urlencode({'run': run.id, 'measurement': name})}",
                f"{run.lot_id} {run.step_id} on {run.tool_id}: {name} wafer maps") for name in mapped]
    made = 0
    for url, description in images:
        try:
            create_artifact("image", url, description)
            made += 1
        except Exception as exc:  # noqa: BLE001 - a view, never a reason to stop a lot
            log.debug("chart %s of %s not published: %s", url, run.job_id, exc)
    return made
