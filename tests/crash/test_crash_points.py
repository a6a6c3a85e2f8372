"""The crash-point harness in the suite (issue #14): for the reference step of a kind, the orchestrator
is killed after each of its write points in turn — with the tool keeping its memory, and with the tool
restarted without it — and the step resumed; every invariant must hold at every point. Two tiers: the
mock (exact points) and the simulator behind its real protocol (a restart is a new simulator).
`make test` runs one kind per tier on SQLite and PostgreSQL (the socket tier at the points around the
tool's start and end); `make crash` runs every kind, every point, both tiers, both databases
(`BUMPLINE_CRASH_FULL=1`).

The number of write points per kind and tier is pinned: a change that adds a commit or a tool command
fails here until the count is updated, so a new write is never left out of the harness."""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from unittest import mock

import pytest

import line.steps as steps
from drivers.registry import SPECS
from tests.crash.harness import Run, count_batch_points, count_points, kill_and_resume, kill_and_resume_batch

POINTS = {
    "mock": {"litho": 20, "metrology": 18, "oven": 19, "plater": 19, "sputter": 21, "stencil_printer": 20,
             "wet_bench": 19},
    # a poll's observations are one point here, so every kind writes alike
    "socket": {"litho": 15, "metrology": 15, "oven": 15, "plater": 15, "sputter": 15, "stencil_printer": 15,
               "wet_bench": 15},
}
FULL = os.environ.get("BUMPLINE_CRASH_FULL") == "1"
CASES = [(tier, kind) for tier in POINTS for kind in sorted(SPECS)] if FULL else [("mock", "sputter"), ("socket", "plater")]
AROUND = ("tool create_job", "ledger events(wafer load)+wafers+events(job start-sent)", "tool start",
          "ledger what a status poll saw (job progress)", "ledger events(tool finish)+events(job complete)+step_runs")
"""The socket tier's points in `make test`: the write-ahead start, the start itself, the first and last
observation — the windows where a job could be run twice or lost. Named by label, so each must be
found: two had drifted from what the step writes (the order of a commit's tables, one INSERT per
event) and `make test` had silently killed at three points of the five."""


@pytest.mark.parametrize("tier", sorted(POINTS))
def test_every_kind_has_a_pinned_point_count(tier):
    assert set(POINTS[tier]) == set(SPECS)


@pytest.mark.parametrize(("tier", "kind"), CASES)
def test_every_kill_point_of_a_step_keeps_every_invariant(tier, kind, db_url, capsys):
    points = count_points(db_url, kind, tier)
    assert len(points) == POINTS[tier][kind], (
        f"{kind}'s reference step on the {tier} tier now writes at {len(points)} points, not "
        f"{POINTS[tier][kind]}: {points} — update POINTS after checking the new ones")
    if tier == "socket":
        assert not (lost := [p for p in AROUND if p not in points]), (
            f"the socket tier's chosen kill points are not among the step's points any more: {lost} — {points}")
    chosen = [k for k in range(1, len(points) + 1) if FULL or tier == "mock" or points[k - 1] in AROUND]
    sweep(points, chosen, lambda k, restarted: kill_and_resume(db_url, kind, k, restarted, tier),
          f"{kind} on the {tier} tier, {db_url.split(':')[0]}", capsys)


def sweep(points: list[str], chosen: list[int], kill: Callable[[int, bool], Run], what: str, capsys) -> None:
    """Kill at each chosen point, the tool kept and then restarted; every invariant must hold."""
    outcomes: Counter[str] = Counter()
    failures = []
    for restarted in (False, True):
        for k in chosen:
            run = kill(k, restarted)
            outcomes[run.outcome] += 1
            if run.problems:
                failures.append(f"k={k} ({points[k - 1]}), tool {'restarted' if restarted else 'kept'}: {run.problems}")
    with capsys.disabled():
        print(f"\n  crash points, {what}: {len(chosen)} of {len(points)} points × tool kept / restarted: "
              f"{'all invariants held' if not failures else f'{len(failures)} broken'}; outcomes {dict(outcomes)}")
    assert not failures, "\n".join(failures)


def test_the_harness_catches_a_step_set_up_again_after_its_start_went_out(sqlite_url):
    """Teeth: with the write-ahead start record ignored (the old reattach check), a kill right after
    the tool started the job, then a tool restart, runs the job twice — and the harness says so."""
    points = count_points(sqlite_url, "sputter")
    real = steps.Ledger.events

    def without_start_sent(self, *args, **kwargs):
        return [e for e in real(self, *args, **kwargs) if e.trigger != "start-sent"]

    with mock.patch.object(steps.Ledger, "events", without_start_sent):
        broken = [k for k in range(1, len(points) + 1) if kill_and_resume(sqlite_url, "sputter", k, True).problems]
    assert broken, "the harness missed the old double start"
    assert points[broken[0] - 1] == "tool start"          # the window opens just after the start…
    assert all(points[k - 1].startswith("ledger") for k in broken[1:])   # …and lasts until a job state is recorded


BATCH_POINTS = {"mock": 21, "socket": 15}
"""write points of one oven job carrying three lots (`tests.crash.harness.batched_step`)"""


@pytest.mark.parametrize("tier", ["mock"] + (["socket"] if FULL else []))
def test_every_kill_point_of_a_batch_job_keeps_every_invariant_per_lot(tier, db_url, capsys):
    """One oven job carries three lots, the third held OUT_OF_SPEC by its own limits; the orchestrator
    is killed after each write, the tool kept or restarted, and each lot resumed on its own: no wafer
    in two started jobs, each lot one step run, complete with its own results (the third held with
    them) or held with an actionable reason, no lease left."""
    points = count_batch_points(db_url, tier)
    assert len(points) == BATCH_POINTS[tier], (
        f"the batch job on the {tier} tier now writes at {len(points)} points, not {BATCH_POINTS[tier]}: {points}")
    sweep(points, list(range(1, len(points) + 1)), lambda k, restarted: kill_and_resume_batch(db_url, k, restarted, tier),
          f"a batch oven job of 3 lots on the {tier} tier, {db_url.split(':')[0]}", capsys)


def test_the_harness_catches_a_batch_lot_that_waits_for_a_job_that_never_reached_the_tool(sqlite_url):
    """Teeth: a lot resumed alone whose batch job the restarted tool never knew sets that job up again
    with only its own wafers — the other lots then follow a job without theirs — and the harness says so."""
    points = count_batch_points(sqlite_url)
    with mock.patch.object(steps.ToolStep, "_run_alone", lambda self: None):
        broken = [k for k in range(1, len(points) + 1) if kill_and_resume_batch(sqlite_url, k, True).problems]
    start_sent = next(k for k, label in enumerate(points, 1) if "start-sent" in label)
    assert broken and max(broken) < start_sent      # the window: the batch begun, its start not yet recorded
