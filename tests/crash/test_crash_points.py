"""The crash-point harness in the suite (issue #14): for the reference step of a kind, the orchestrator
is killed after each of its write points in turn — with the tool keeping its memory, and with the tool
restarted without it — and the step resumed; every invariant must hold at every point. `make test`
runs one kind on SQLite and PostgreSQL; `make crash` runs every kind on both (`BUMPLINE_CRASH_FULL=1`).

The number of write points per kind is pinned: a change that adds a commit or a tool command fails
here until the count is updated, so a new write is never left out of the harness."""
from __future__ import annotations

import os
from collections import Counter
from unittest import mock

import pytest

import line.steps as steps
from drivers.registry import SPECS
from tests.crash.harness import count_points, kill_and_resume

POINTS = {"litho": 27, "metrology": 23, "oven": 25, "plater": 25, "sputter": 29, "stencil_printer": 27, "wet_bench": 25}
FULL = os.environ.get("BUMPLINE_CRASH_FULL") == "1"
KINDS = sorted(SPECS) if FULL else ["sputter"]


def test_every_kind_has_a_pinned_point_count():
    assert set(POINTS) == set(SPECS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kill_point_of_a_step_keeps_every_invariant(kind, db_url, capsys):
    points = count_points(db_url, kind)
    assert len(points) == POINTS[kind], (f"{kind}'s reference step now writes at {len(points)} points, not "
                                         f"{POINTS[kind]}: {points} — update POINTS after checking the new ones")
    outcomes: Counter[str] = Counter()
    failures = []
    for restarted in (False, True):
        for k in range(1, len(points) + 1):
            run = kill_and_resume(db_url, kind, k, restarted)
            outcomes[run.outcome] += 1
            if run.problems:
                failures.append(f"k={k} ({points[k - 1]}), tool {'restarted' if restarted else 'kept'}: {run.problems}")
    with capsys.disabled():
        print(f"\n  crash points, {kind} on {db_url.split(':')[0]}: {len(points)} points × tool kept / restarted: "
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
    assert broken and all(points[k - 1] == "ledger commit" for k in broken)
    assert points[broken[0] - 2] == "tool start"          # the window: just after the start, before a job state
