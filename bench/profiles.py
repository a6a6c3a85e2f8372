"""Where the time goes, for a figure that misses its goal: a pyinstrument profile of the slow side,
kept as text under bench/profiles/, and a short breakdown for RESULTS.md.

The breakdown takes every call of a named function (say `route_step_task`) and sums the time of
its direct callees across calls, so "load_for_run 31 %" means 31 % of that function's wall time."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench import ROOT

PROFILES = ROOT / "bench" / "profiles"


def profile(fn: Callable[[], Any], name: str, interval: float = 0.001) -> Any:
    """Run `fn` under pyinstrument (this thread), save the text report, return the session."""
    from pyinstrument import Profiler

    prof = Profiler(interval=interval, async_mode="disabled")
    prof.start()
    try:
        fn()
    finally:
        prof.stop()
    PROFILES.mkdir(parents=True, exist_ok=True)
    (PROFILES / f"{name}.txt").write_text(prof.output_text(unicode=True, show_all=False, short_mode=False))
    return prof.last_session


def _outermost(frame: Any, function: str, out: list[Any]) -> None:
    if frame.function == function:
        out.append(frame)
        return
    for child in frame.children:
        _outermost(child, function, out)


def label(frame: Any) -> str:
    name = frame.function or "?"
    if frame.class_name:
        name = f"{frame.class_name}.{name}"
    path = (frame.file_path_short or "").replace("\\", "/")
    where = path.split("site-packages/")[-1] if "site-packages" in path else path.split("/work/main/")[-1]
    return f"{name} ({where.split('/')[0] if 'site-packages' in path else where})"


def breakdown(session: Any, function: str, top: int = 8) -> tuple[float, list[tuple[str, float]]]:
    """Total seconds spent in `function` (outermost calls) and its direct callees' seconds,
    summed over calls, largest first; the function's own time is listed as '(self)'."""
    from pyinstrument.processors import aggregate_repeated_calls, merge_consecutive_self_time, remove_importlib

    root = session.root_frame()
    for proc in (remove_importlib, merge_consecutive_self_time, aggregate_repeated_calls):
        root = proc(root, options={}) if root else root
    calls: list[Any] = []
    if root is not None:
        _outermost(root, function, calls)
    total = sum(c.time for c in calls)
    parts: dict[str, float] = defaultdict(float)
    for c in calls:
        for child in c.children:
            parts["(self)" if child.is_synthetic else label(child)] += child.time
    return total, sorted(parts.items(), key=lambda kv: -kv[1])[:top]


def outermost_time(session: Any, names: list[str], under: str | None = None) -> dict[str, float]:
    """Seconds in each named function (outermost calls only), optionally only below `under`."""
    root = session.root_frame()
    starts: list[Any] = []
    if root is not None:
        if under:
            _outermost(root, under, starts)
        else:
            starts = [root]
    out: dict[str, float] = {}
    for name in names:
        calls: list[Any] = []
        for s in starts:
            for child in s.children:
                _outermost(child, name, calls)
        out[name] = sum(c.time for c in calls)
    return out


def library_time(session: Any, under: str, packages: tuple[str, ...]) -> tuple[float, float]:
    """Seconds in calls of `under` (outermost), and how much of it was inside the named packages'
    code (outermost frames whose file is under site-packages/<package>)."""
    root = session.root_frame()
    calls: list[Any] = []
    if root is not None:
        _outermost(root, under, calls)

    def lib(f: Any) -> float:
        path = (f.file_path or "").replace("\\", "/")
        if any(f"site-packages/{p}" in path for p in packages):
            return f.time
        return sum(lib(c) for c in f.children)
    return sum(c.time for c in calls), sum(lib(c) for c in calls)


def own_time_by_file(session: Any, under: str, exclude: tuple[str, ...], top: int = 6) -> list[tuple[str, float]]:
    """Where the time below `under` goes outside the excluded packages, by source file (a library
    frame's whole subtree is skipped; standard-library calls count for the file that made them)."""
    root = session.root_frame()
    calls: list[Any] = []
    if root is not None:
        _outermost(root, under, calls)
    acc: dict[str, float] = defaultdict(float)

    def walk(f: Any, owner: str) -> None:
        path = (f.file_path or "").replace("\\", "/")
        if any(f"site-packages/{p}" in path for p in exclude):
            return
        if "/work/main/" in path:
            owner = path.split("/work/main/")[-1]
        own = f.time - sum(c.time for c in f.children if not c.is_synthetic)
        if own > 0:
            acc[owner] += own
        for c in f.children:
            if not c.is_synthetic:
                walk(c, owner)
    for c in calls:
        walk(c, "?")
    return sorted(acc.items(), key=lambda kv: -kv[1])[:top]


def class_time(session: Any, match: Any, under: str, exclude: Any = None) -> float:
    """Seconds in methods of classes `match(class_name)` accepts (outermost such calls), below calls
    of `under`, less what they spend in nested methods of classes `exclude` accepts (a driver's
    state-change callbacks that write the ledger are the ledger's time, not the driver's)."""
    root = session.root_frame()
    starts: list[Any] = []
    if root is not None:
        _outermost(root, under, starts)

    def nested(f: Any) -> float:
        if f.class_name and exclude and exclude(f.class_name):
            return f.time
        return sum(nested(c) for c in f.children)

    def walk(f: Any) -> float:
        if f.class_name and match(f.class_name):
            return f.time - sum(nested(c) for c in f.children)
        return sum(walk(c) for c in f.children)
    return sum(sum(walk(c) for c in s.children) for s in starts)


def table(total: float, parts: list[tuple[str, float]], title: str) -> list[str]:
    """Markdown lines: callee, seconds, share of the total."""
    lines = [f"{title} — {total:.2f} s profiled", "", "| callee | s | share |", "|---|---:|---:|"]
    for name, secs in parts:
        lines.append(f"| `{name}` | {secs:.3f} | {secs / total * 100 if total else 0:.0f} % |")
    return lines
