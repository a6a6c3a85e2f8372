"""A long-lived worker process of the 100-lot scale benchmark (`bench.scale100`): `--lots` lots as
threads, each starting its next lot when one ends, against the Prefect server and ledger the
environment names, for `--window` seconds; then every step it timed, the lots' ends, its CPU and
peak memory, as JSON to `--out`. Stops promptly on SIGTERM (the window ends early)."""
from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

PRODUCTS = ("A", "B", "D-release")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scale_worker")
    ap.add_argument("--name", required=True)
    ap.add_argument("--lots", type=int, required=True)
    ap.add_argument("--window", type=float, required=True)
    ap.add_argument("--line", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--stagger", type=float, default=0.25)
    args = ap.parse_args(argv)

    import psutil

    from bench.common import RECIPES, instrumented, load_routes, quiet
    quiet()
    import line.lot_flow as lf
    from line.arrival import bring_onto_line
    from line.config import load_line

    cfg = load_line(args.line)
    routes = load_routes("ABD")
    routes["D-release"] = routes.pop("D")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    records: list[dict[str, Any]] = []
    ends: Counter[str] = Counter()
    failed_starts: list[str] = []
    counter = iter(range(10**9))
    lock = threading.Lock()

    def token(slot: int) -> None:
        time.sleep(slot * args.stagger)
        while not stop.is_set():
            with lock:
                n = next(counter)
            product = PRODUCTS[(slot + n) % len(PRODUCTS)]
            route = routes[product]
            lot = f"{args.name}-{slot:02d}-{n:04d}"
            bring_onto_line(cfg, route, lot, 5)
            try:
                res = lf.drive_lot(lot, str(route.path), 5, args.line, str(RECIPES), args.db)
            except Exception as exc:  # noqa: BLE001 - a flow run that failed to start is a figure
                failed_starts.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                time.sleep(1.0)
                continue
            reason = str(res.get("reason", ""))
            ends["STOPPED" if "benchmark window" in reason else res["status"]] += 1
            if res["status"] != "COMPLETE" and "benchmark window" not in reason:
                return            # a held lot keeps its slot (it waits for an operator)

    me = psutil.Process()
    peak = {"rss": me.memory_info().rss}

    def watch() -> None:
        while not stop.wait(0.5):
            peak["rss"] = max(peak["rss"], me.memory_info().rss)

    threading.Thread(target=watch, daemon=True).start()
    threads = [threading.Thread(target=token, args=(i,), daemon=True) for i in range(args.lots)]
    with instrumented(records, stop):
        cpu0, t_start = sum(me.cpu_times()[:2]), time.time()
        for t in threads:
            t.start()
        stop.wait(args.window)
        cpu1, t_stop = sum(me.cpu_times()[:2]), time.time()
        stop.set()
        for t in threads:
            t.join(180)
    Path(args.out).write_text(json.dumps({
        "records": records, "ends": ends, "failed_starts": failed_starts, "cpu_s": cpu1 - cpu0,
        "t_start": t_start, "t_stop": t_stop, "peak_rss": peak["rss"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
