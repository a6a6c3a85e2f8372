"""An SPC control chart as a picture (matplotlib, Agg), drawn from the ledger on request by the chart
service: the location chart (lot means against the centre, ±1σ/±2σ zones and the control limits,
which follow each lot's size on an X̄ chart) above its dispersion chart (MR, R or S); every point that
completed a run rule in red, labelled with the rules' numbers."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")   # before pyplot: no display here, ever

# isort: split

import matplotlib.pyplot as plt

from line.ledger import Ledger
from line.spc.charts import DISPERSION
from line.spc.view import chart_data


class NoChart(LookupError):
    """No baseline, or no lot after it, for what was asked."""


def spc_png(ledger: Ledger, step: str, measurement: str, tool: str, lots: int = 25) -> bytes:
    data = chart_data(ledger, step, measurement, tool, lots)
    b, pts = data["baseline"], data["points"]
    if b is None:
        raise NoChart(f"no SPC baseline for {measurement} at step {step} on {tool} in the ledger")
    if not pts:
        raise NoChart(f"no lots after SPC baseline #{b['id']} for {measurement} at step {step} on {tool}")
    x = list(range(len(pts)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    center = b["center"]
    top.step(x, [p["ucl"] for p in pts], where="mid", color="#c62828", linewidth=1, label="UCL / LCL")
    top.step(x, [p["lcl"] for p in pts], where="mid", color="#c62828", linewidth=1)
    for k in (1, 2):
        for sign in (1, -1):
            top.step(x, [center + sign * k * (p["ucl"] - center) / 3 for p in pts], where="mid", color="#90a4ae",
                     linewidth=0.6, linestyle=":")
    top.axhline(center, color="#37474f", linewidth=1, label=f"centre {center:.5g}")
    top.plot(x, [p["value"] for p in pts], color="#1565c0", marker="o", markersize=4, linewidth=1)
    for i, p in enumerate(pts):
        if p["signals"]:
            top.plot([i], [p["value"]], marker="o", markersize=8, color="#c62828")
            rules = ",".join(s.split(" ")[0].removeprefix("WE") for s in p["signals"] if s.startswith("WE"))
            if rules:
                top.annotate(rules, (i, p["value"]), textcoords="offset points", xytext=(0, 7), ha="center",
                             fontsize=7, color="#c62828")
    top.set_ylabel(f"lot mean ({b['chart']})")
    top.legend(fontsize=7, loc="upper left")
    top.grid(alpha=0.3)
    name = DISPERSION.get(b["chart"], "spread")
    spread = [(i, p["spread"]) for i, p in enumerate(pts) if p["spread"] is not None]
    if spread:
        bottom.plot([i for i, _ in spread], [v for _, v in spread], color="#1565c0", marker="o", markersize=3, linewidth=1)
        bottom.step(x, [p["spread_ucl"] for p in pts], where="mid", color="#c62828", linewidth=1)
        over = [(i, v) for i, v in spread if v > pts[i]["spread_ucl"]]
        if over:
            bottom.plot([i for i, _ in over], [v for _, v in over], "o", color="#c62828", markersize=7)
    bottom.set_ylabel(name)
    bottom.grid(alpha=0.3)
    bottom.set_xticks(x, [p["lot"] for p in pts], rotation=45, ha="right", fontsize=7)
    fig.suptitle(f"SPC {step} {measurement} on {tool}: baseline #{b['id']} ({b['lots']} lots, frozen by "
                 f"{b['frozen_by']})", fontsize=10)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()
