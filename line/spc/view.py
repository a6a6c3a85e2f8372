"""An SPC chart as data and as markdown, from the ledger: the active baseline and the newest lots
after it, each with its limits, z and the rules it broke. One source for `bumpline spc show`, the
evidence of an SPC hold and the chart service."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from line.ledger import Ledger
from line.spc.charts import points
from line.spc.control import as_baseline, subgroups
from line.spc.rules import ALL


def chart_data(ledger: Ledger, step: str, measurement: str, tool: str, lots: int = 25) -> dict[str, Any]:
    """The chart as data: the baseline (None before one is frozen) and the newest `lots` lots after it."""
    row = ledger.spc_baseline(step, measurement, tool)
    if row is None:
        return {"step": step, "measurement": measurement, "tool": tool, "baseline": None, "points": []}
    base = as_baseline(row)
    groups = subgroups(ledger.run_values(step, measurement, tool, after_run=row.through_step_run_id, newest=lots))
    pts = points(base, [g for g in groups if base.chart == "imr" or len(g.values) >= 2], ALL)
    return {"step": step, "measurement": measurement, "tool": tool,
            "baseline": {"id": row.id, "chart": row.chart, "center": row.center, "sigma": row.sigma, "lots": row.lots,
                         "from": row.first_lot, "through": row.last_lot, "frozen_by": row.frozen_by,
                         "frozen_at": row.frozen_at.isoformat(), "note": row.note},
            "points": [{"lot": p.label, "value": p.value, "z": round(p.z, 3), "lcl": p.limits.lcl, "ucl": p.limits.ucl,
                        "spread": p.spread, "spread_ucl": p.spread_limits.ucl, "signals": [s.text for s in p.signals]}
                       for p in pts]}


def chart_url(base_url: str, step: str, measurement: str, tool: str) -> str:
    return f"{base_url}/charts/spc.png?{urlencode({'step': step, 'measurement': measurement, 'tool': tool})}"


def chart_markdown(ledger: Ledger, step: str, measurement: str, tool: str, base_url: str = "", lots: int = 10) -> list[str]:
    """The chart for a person deciding: its picture (with a chart service), and its newest lots as a table."""
    data = chart_data(ledger, step, measurement, tool, lots)
    b = data["baseline"]
    if b is None:
        return [f"{step} {measurement} on {tool}: no SPC baseline"]
    out = [f"SPC chart {step} {measurement} on {tool}: {b['chart']} baseline #{b['id']} (centre {b['center']:.5g}, "
           f"σ {b['sigma']:.4g}, {b['lots']} lots {b['from']} … {b['through']}, frozen by {b['frozen_by']})", ""]
    if base_url:
        out += [f"![SPC chart {step} {measurement} on {tool}]({chart_url(base_url, step, measurement, tool)})", ""]
    out += ["| lot | mean | z | LCL | UCL | signals |", "|---|---:|---:|---:|---:|---|"]
    out += [f"| {p['lot']} | {p['value']:.5g} | {p['z']:+.2f} | {p['lcl']:.5g} | {p['ucl']:.5g} | "
            f"{'**' + '; '.join(p['signals']) + '**' if p['signals'] else ''} |" for p in data["points"]]
    return out
