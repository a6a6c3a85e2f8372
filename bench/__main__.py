"""`python -m bench` (`make bench`): every benchmark, a table of figures with their ratios, and
bench/RESULTS.md rewritten with this run. `--only 1,3` runs some; `--quick` shortens each (a smoke
run: its figures are not the ones to record)."""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack

import bench
from bench import prefect_server
from bench.common import Section, fresh_prefect_db, quiet

TITLES = {1: "1. Driver round trip", 2: "2. Step overhead", 3: "3. Line throughput", 4: "4. Scale",
          5: "5. Cold start", 6: "6. Process control", 7: "7. Scale, 100 lots"}
# Cold start first: its processes start Prefect on a quiet machine, before this one runs anything.
ORDER = (5, 1, 2, 3, 4, 7, 6)


def runner(n: int) -> Callable[[Section, bool], None]:
    if n == 1:
        from bench.roundtrip import run
    elif n == 2:
        from bench.step_overhead import profile_line_step
        from bench.step_overhead import run as measure

        def run(section: Section, quick: bool) -> None:
            measure(section, quick)
            if any(f.needs_why for f in section.figures):
                profile_line_step(section)
    elif n == 3:
        from bench.throughput import run
    elif n == 4:
        from bench.scale import run
    elif n == 6:
        from bench.process_control import run
    elif n == 7:
        from bench.scale100 import run
    else:
        from bench.coldstart import run
    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--only", default="", help="comma-separated benchmark numbers, e.g. 1,3")
    ap.add_argument("--quick", action="store_true", help="shorter runs (smoke test; not for RESULTS.md)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    ap.add_argument("--prefect", choices=("postgres", "ephemeral"), default="postgres",
                    help="the Prefect server the lots talk to: one on PostgreSQL started for the run (default), "
                         "or Prefect's own ephemeral one on SQLite")
    args = ap.parse_args(argv)
    chosen = [int(x) for x in args.only.split(",") if x.strip()] or list(ORDER)
    quiet()
    from bench.report import append_history, console_table, head, machine, write_results

    meta = machine()
    fresh_prefect_db()
    if set(chosen) == set(ORDER) and not args.quick:      # profiles of this run only
        for old in (bench.ROOT / "bench" / "profiles").glob("*.txt"):
            old.unlink()
    t0 = time.perf_counter()
    sections: dict[int, Section] = {}
    failed = False
    server, started = ExitStack(), False
    for n in [n for n in ORDER if n in chosen]:
        if n != 5 and not started:      # after the cold start: it wants a quiet machine
            started = True
            print(f"— Prefect: {args.prefect} …", flush=True)
            try:
                meta["prefect_server"] = server.enter_context(prefect_server.for_run(args.prefect))
            except RuntimeError as exc:
                print(f"python -m bench: {exc}", file=sys.stderr)
                return 2
        section = sections[n] = Section(TITLES[n])
        print(f"— {TITLES[n]} …", flush=True)
        t = time.perf_counter()
        try:
            runner(n)(section, args.quick)
        except Exception:  # noqa: BLE001 - one benchmark's failure is reported; the others still run
            failed = True
            section.text.append("**This benchmark failed:**\n\n```\n" + traceback.format_exc() + "```")
            traceback.print_exc()
        section.wall_s = time.perf_counter() - t
        print(f"  {section.wall_s:.0f} s", flush=True)
    server.close()
    wall = time.perf_counter() - t0
    ordered = [sections[n] for n in sorted(sections)]
    console_table(ordered)
    print(f"total wall time {wall / 60:.1f} min")
    if not args.no_write and not args.quick:
        flags = "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
        meta["head_end"] = head()
        meta["load"] = machine()["load"]
        full = set(chosen) == set(ORDER)
        runs = append_history(ordered, meta, wall) if full else None
        path = write_results(ordered, meta, wall, flags, runs)
        print(f"wrote {path.relative_to(bench.ROOT)}" + (" and bench/history.jsonl" if full else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
