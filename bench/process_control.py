"""6. Process control: lots of 25 wafers through the Cu bump-pad plating step (recipe
`ep-cu-5um-2asd@v2`, the `eng-plating-r2r` route) on a plater whose bath ages as it plates
(`drift` on: current efficiency −1.5 % per 100 A·h, ~6.8 A·h a lot), run twice on a fresh bath —
run-to-run control off, then on — with the simulator's wafer-to-wafer noise and the benchmark's spec
window declared below and unchanged between the two runs. Reported: Cpk and % of wafers in spec of
the plated thickness over the first, middle and last third of the lots, both ways; and, from the
R2R-off run, after how many lots an I-MR chart (baseline: the first lots, Western Electric rules
1–4) signals the drift against the first lot with a wafer out of the window — how many lots of
warning SPC would have given."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench.common import RECIPES, Section, new_id, scratch_dir, warm_prefect

LSL, USL, TARGET = 4.8, 5.2, 5.0       # the benchmark's spec window (µm): ±4 %
NOISE_PCT = 0.5                         # the plater's wafer-to-wafer spread (%), both runs
WAFERS = 25
BASELINE_LOTS = 6
SPEED = 20_000.0
ROUTE = RECIPES / "routes/engineering/plating-r2r.yaml"


def cpk(values: list[float]) -> float:
    mu, sd = statistics.fmean(values), statistics.stdev(values)
    return min(USL - mu, mu - LSL) / (3 * sd) if sd > 0 else float("inf")


def in_spec_pct(values: list[float]) -> float:
    return 100.0 * sum(1 for v in values if LSL <= v <= USL) / len(values)


def plating_line(tmp: Path) -> tuple[Any, Path]:
    from sim_hw.line import SimLine, SimToolSpec

    spec = SimToolSpec("EP01", "plater", options={"cells": 4, "bath": "Cu-acid", "drift": True, "noise_pct": NOISE_PCT})
    sim = SimLine([spec], speed=SPEED, seed=42, control_port=None).start_in_thread()
    cells = "".join(f"      {n}: TCPIP0::127.0.0.1::{p}::SOCKET\n" for n, p in sim.endpoint_ports()["EP01"].items())
    path = tmp / "line.yaml"
    path.write_text("apiVersion: bumpline/v1\nkind: Line\nmetadata: {name: bench-plating}\ntools:\n"
                    f"  - id: EP01\n    kind: plater\n    address: modbus-tcp://127.0.0.1:{sim.ports()['EP01']}/1\n"
                    f"    endpoints:\n{cells}    capabilities: {{bath: Cu-acid}}\n    options: {{cells: 4}}\n")
    return sim, path


def one_run(r2r_on: bool, lots: int, wafers: int, tmp: Path) -> tuple[list[list[float]], list[float]]:
    """Per lot, its wafers' plated thickness; and the plating time each lot was sent."""
    from line.ledger import Ledger
    from line.lot_flow import drive_lot
    from line.recipes.catalog import RecipeCatalog
    from line.recipes.route import load_route

    route_path = tmp / f"route-{'on' if r2r_on else 'off'}.yaml"
    text = ROUTE.read_text()
    if not r2r_on:
        text = text.replace("r2r: true", "r2r: false").replace("name: eng-plating-r2r", "name: eng-plating-fixed")
    route_path.write_text(text)
    design = load_route(ROUTE, RecipeCatalog(RECIPES)).design()
    db = f"sqlite:///{tmp / ('ledger-on.db' if r2r_on else 'ledger-off.db')}"
    sim, line = plating_line(tmp)
    per_lot, times = [], []
    try:
        ledger = Ledger(db)
        for _ in range(lots):
            lot = new_id("PC")
            sim.call(lambda lot=lot: [sim.world.start_wafer(f"{lot}.{i:02d}", design) for i in range(1, wafers + 1)])
            drive_lot(lot, str(route_path), wafers, str(line), str(RECIPES), db_url=db)
            (run,) = ledger.step_runs(lot)
            per_lot.append([ms.value for ms in ledger.measurements(run.id) if ms.name == "plated.thickness"])
            times.append(sim.tools["EP01"].jobs[run.job_id].recipe["time_s"])
        ledger.dispose()
    finally:
        sim.stop_thread()
    return per_lot, times


def thirds(per_lot: list[list[float]]) -> list[list[float]]:
    n = len(per_lot)
    cuts = [0, n // 3, 2 * n // 3, n]
    return [[v for lot in per_lot[a:b] for v in lot] for a, b in zip(cuts, cuts[1:], strict=False)]


def spc_warning(per_lot: list[list[float]]) -> tuple[int | None, int | None]:
    """(the first lot an I-MR chart on lot means signals, the first lot with a wafer outside the
    window), 1-based, from the R2R-off run."""
    from line.spc.charts import Subgroup, baseline, points

    groups = [Subgroup(f"L{i + 1}", (statistics.fmean(v),)) for i, v in enumerate(per_lot)]
    base = baseline("imr", groups[:BASELINE_LOTS])
    pts = points(base, groups[BASELINE_LOTS:])
    signal = next((BASELINE_LOTS + i + 1 for i, p in enumerate(pts) if p.signals), None)
    out = next((i + 1 for i, v in enumerate(per_lot) if any(not LSL <= x <= USL for x in v)), None)
    return signal, out


def run(section: Section, quick: bool) -> None:
    lots, wafers = (9, 12) if quick else (36, WAFERS)
    warm_prefect()
    tmp = scratch_dir()
    off, _ = one_run(False, lots, wafers, tmp)
    on, times = one_run(True, lots, wafers, tmp)
    for name, per_lot in (("R2R off", off), ("R2R on", on)):
        for label, values in zip(("first", "middle", "last"), thirds(per_lot), strict=True):
            if name == "R2R on":
                section.add(f"{name}: Cpk, {label} third of the lots", cpk(values), "", "Cpk goal", 1.33, goal="≥ 1×")
            else:
                section.add(f"{name}: Cpk, {label} third of the lots", cpk(values), "")
        section.add(f"{name}: wafers in spec, all lots", in_spec_pct([v for lot in per_lot for v in lot]), "%")
    signal, first_out = spc_warning(off)
    section.add("R2R off: SPC (I-MR, WE 1–4) signals at lot", float(signal or 0), "lot")
    section.add("R2R off: first wafer out of the window at lot", float(first_out or 0), "lot")
    section.data.update(times=times, signal=signal, first_out=first_out)
    section.text.append(
        f"{lots} lots × {wafers} wafers per run, fresh bath each run; spec window {LSL:g}–{USL:g} µm (target "
        f"{TARGET:g}), plating noise {NOISE_PCT:g} % per wafer. With R2R on the plating time went "
        f"{times[0]:g} → {times[-1]:g} s (bounds 650–800 s). SPC (baseline: the first {BASELINE_LOTS} lots' means) "
        f"signalled at lot {signal}; the first wafer left the window at lot {first_out}"
        + (f": {first_out - signal} lots of warning." if signal and first_out else "."))
