"""The run's figures as one table on the console and as bench/RESULTS.md (dated, with the commit),
with, for every goal missed, where the time goes."""
from __future__ import annotations

import math
import os
import platform
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.common import Figure, Section

RESULTS = ROOT / "bench" / "RESULTS.md"


def fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if a >= 0.01 else f"{v:.2g}"


def ratio_text(f: Figure) -> str:
    r = f.ratio
    if r is None:
        return ""
    return f"{r * 100:.1f} %" if f.goal.endswith("%") else f"{r:.3f}×" if r < 10 else f"{r:.1f}×"


def verdict(f: Figure) -> str:
    return {True: "met", False: "MISSED", None: ""}[f.met]


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"


def head() -> str:
    return git("rev-parse", "--short", "HEAD").strip()


def reference_ms() -> float:
    """CPU ms of a fixed pure-Python workload, best of five: how fast this machine runs Python now. A
    shared VM's speed drifts between runs (twice as slow on one day as another), and every CPU and
    wall figure moves with it — compare runs by their figures divided by this."""
    best = math.inf
    for _ in range(5):
        t = time.process_time()
        counts: dict[int, int] = {}
        for i in range(300_000):
            counts[i % 1000] = counts.get(i % 1000, 0) + i
        best = min(best, time.process_time() - t)
    return round(best * 1000, 1)


def machine() -> dict[str, str]:
    """Where and on what this run ran; taken at the start (the commit whose code is measured)."""
    dirty = [line[3:] for line in git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    from importlib.metadata import version

    import psutil

    return {"date": datetime.now().strftime("%Y-%m-%d"), "time": datetime.now().strftime("%H:%M"),
            "commit": head(),
            "dirty": ", ".join(dirty[:6]) + (" …" if len(dirty) > 6 else ""),
            "cpu": f"{os.cpu_count()} × {cpu}", "memory": f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
            "python": platform.python_version(), "prefect": version("prefect"),
            "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()), "reference_ms": f"{reference_ms():.1f}"}


def console_table(sections: list[Section]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 150))
    table = Table(title="bumpline benchmarks", title_justify="left", show_lines=False)
    for col, kw in (("figure", {"max_width": 46}), ("value", {"justify": "right"}), ("unit", {}),
                    ("compared with", {"max_width": 28}), ("ref", {"justify": "right"}),
                    ("ratio", {"justify": "right"}), ("goal", {}), ("", {}), ("note", {"max_width": 48})):
        table.add_column(col, **kw)
    for s in sections:
        table.add_row(f"[bold]{s.title}[/bold]", "", "", "", "", "", "", "", f"[dim]{s.wall_s:.0f} s[/dim]")
        for f in s.figures:
            mark = {"met": "[green]✓[/green]", "MISSED": "[red]✗[/red]", "": ""}[verdict(f)]
            table.add_row(f.name, fmt(f.value), f.unit, f.ref_name, fmt(f.ref_value), ratio_text(f), f.goal, mark,
                          f"[dim]{f.note}[/dim]")
    console.print(table)


# The figures the runs table follows from run to run: (column, benchmark, figure, ×100 for a percentage)
TRACKED = (("SCPI call ×raw", "1. Driver round trip", "SCPI status query, median", False),
           ("Modbus call ×raw", "1. Driver round trip", "Modbus TCP status query, median", False),
           ("step ×bare task", "2. Step overhead", "per step, median: line (lot_flow)", False),
           ("saturated line % bound", "3. Line throughput", "real line, saturated", True),
           ("20 lots, SQLite: step overhead ms", "4. Scale", "SQLite, 20 lots: step overhead (median)", None),
           ("20 lots, SQLite: orchestrator CPU ms/step", "4. Scale", "SQLite, 20 lots: orchestrator CPU per step", None),
           ("20 lots, SQLite: all CPU ms/step", "4. Scale", "SQLite, 20 lots: all CPU per step", None),
           ("cold start ×Prefect", "5. Cold start", "`bumpline run` → first wafer in the tool", False))
HISTORY = ROOT / "bench" / "history.jsonl"


def tracked(sections: list[Section]) -> dict[str, float]:
    out: dict[str, float] = {}
    for column, bench, name, pct in TRACKED:
        f = next((f for s in sections if s.title == bench for f in s.figures if f.name == name), None)
        if f is not None:
            v = f.value if pct is None else f.ratio
            if v is not None and not math.isnan(v):
                out[column] = v * 100 if pct else v
    return out


def append_history(sections: list[Section], meta: dict[str, str], wall_s: float) -> list[dict[str, Any]]:
    """One line per full run in bench/history.jsonl; returns every run so far."""
    import json

    entry = {"date": meta["date"], "time": meta["time"], "commit": meta["commit"], "wall_min": round(wall_s / 60, 1),
             "figures": tracked(sections), "note": meta.get("note", ""), "reference_ms": float(meta["reference_ms"]),
             "prefect_server": meta.get("prefect_server", "")}
    runs = [json.loads(line) for line in HISTORY.read_text().splitlines() if line.strip()] if HISTORY.exists() else []
    runs.append(entry)
    HISTORY.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in runs))
    return runs


def write_results(sections: list[Section], meta: dict[str, str], wall_s: float, args: str,
                  runs: list[dict[str, Any]] | None = None) -> Path:
    moved = f" (HEAD moved to `{meta['head_end']}` while it ran: the in-process benchmarks measured the code " \
            f"they had imported)" if meta.get("head_end") and meta["head_end"] != meta["commit"] else ""
    lines = ["# Benchmark results", "",
             f"`make bench` (`python -m bench{args}`) on **{meta['date']}** at {meta['time']} UTC, commit "
             f"**`{meta['commit']}`**{moved}" + (f", with uncommitted changes in {meta['dirty']}" if meta["dirty"] else "")
             + f"; the whole run took **{wall_s / 60:.1f} min**.", "",
             f"Machine: {meta['cpu']}, {meta['memory']}; Python {meta['python']}, Prefect {meta['prefect']} "
             f"(the lots talked to {meta.get('prefect_server', 'Prefect ephemeral server')}); "
             f"its speed at the start, a fixed Python loop: **{meta['reference_ms']} ms** (`bench/report.py::reference_ms`; "
             "the runs table has it from 2026-12-07 on — a slower machine makes every figure larger). "
             f"Load average at the end {meta['load']}: another engineer works on this machine at the same time "
             "(tests, servers), so figures carry that noise — compare ratios measured in the same run rather than "
             "absolute times across runs. Benchmarks are figures, not tests: nothing here fails a build.", "",
             "Regenerate: `make bench` (all five; rewrites this file and adds a line to `bench/history.jsonl`), or "
             "`python -m bench --only 2,3` / `--quick` (a smoke run, writes nothing). Code: `bench/roundtrip.py` (1), "
             "`step_overhead.py` (2), `throughput.py` with `desmodel.py` (SimPy) and `jobtimes.py` (3), `scale.py` (4), "
             "`coldstart.py` (5); pyinstrument profiles of the goals missed in `bench/profiles/`.",
             "", "## Figures", "", "| figure | value | unit | compared with | value | ratio | goal | |",
             "|---|---:|---|---|---:|---:|---|---|"]
    for s in sections:
        lines.append(f"| **{s.title}** | | | | | | | |")
        for f in s.figures:
            lines.append(f"| {f.name} | {fmt(f.value)} | {f.unit} | {f.ref_name} | {fmt(f.ref_value)} | "
                         f"{ratio_text(f)} | {f.goal} | {verdict(f)} |")
    if runs is None and HISTORY.exists():
        import json

        runs = [json.loads(line) for line in HISTORY.read_text().splitlines() if line.strip()]
    if runs:
        cols = [c for c, *_ in TRACKED]
        lines += ["", "## Runs so far", "", "Tracked figures of every full run (`bench/history.jsonl`), newest last:", "",
                  "| run | commit | min | loop ms | " + " | ".join(cols) + " | note |",
                  "|---|---|---:|---:|" + "---:|" * len(cols) + "---|"]
        for r in runs:
            figs = r.get("figures", {})
            lines.append(f"| {r['date']} {r['time']} | `{r['commit']}` | {r['wall_min']} | {fmt(r.get('reference_ms'))} | "
                         + " | ".join(fmt(figs.get(c)) for c in cols) + f" | {r.get('note', '')} |")
    goals = [f for s in sections for f in s.figures if f.goal]
    lines += ["", "## Goals", ""]
    for f in goals:
        lines.append(f"- {f.bench} — {f.name}: {ratio_text(f)} of {f.ref_name} (goal {f.goal}): **{verdict(f)}**")
    why = [w for s in sections for w in s.why]
    if why:
        lines += ["", "### Where the time goes, for the goals missed or met by less than 5 %", "",
                  "Runs vary (see the runs table): a figure near its goal is explained whichever side it falls.", "",
                  *why]
    for s in sections:
        lines += ["", f"## {s.title}", "", f"_{s.wall_s:.0f} s of this run._", "", *s.text]
        notes = [f for f in s.figures if f.note]
        if notes:
            lines += ["", "Notes to the figures:", ""] + [f"- {f.name}: {f.note}" for f in notes]
    RESULTS.write_text("\n".join(lines) + "\n")
    return RESULTS


def summary(sections: list[Section]) -> dict[str, Any]:
    return {s.title: [(f.name, f.value, f.ratio, verdict(f)) for f in s.figures] for s in sections}
