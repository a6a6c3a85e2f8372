"""The dispatch queue's rule, as a pure function of the waiting steps: a step near its queue-time
limit first, then the lot's priority, then the step nearest the bottleneck, then first come — and
a route's queue limits refused when they name no earlier step."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from line.dispatch_rank import Waiting, assign, rank_key
from line.queue_zones import queue_deadline
from line.recipes.catalog import RecipeCatalog
from line.recipes.linter import lint
from line.recipes.route import load_route
from tests.support import ROOT

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def w(holder: str, *tools: str, priority: int = 0, to_bottleneck: int | None = None, queued_s: float = 0.0,
      due_in_s: float | None = None, limit_s: float | None = None) -> Waiting:
    return Waiting(holder, tools or ("T1",), priority, to_bottleneck, NOW - timedelta(seconds=1000 - queued_s),
                   NOW + timedelta(seconds=due_in_s) if due_in_s is not None else None, limit_s)


def order(*waiting: Waiting) -> list[str]:
    return [x.holder for x in sorted(waiting, key=lambda x: rank_key(x, NOW))]


def test_first_come_first_served_when_nothing_else_differs():
    assert order(w("late", queued_s=5), w("early", queued_s=1)) == ["early", "late"]


def test_priority_goes_before_arrival_and_the_bottleneck_breaks_ties():
    assert order(w("a", queued_s=1), w("b", queued_s=2, priority=5)) == ["b", "a"]
    assert order(w("far", queued_s=1, to_bottleneck=4), w("near", queued_s=2, to_bottleneck=1),
                 w("never", queued_s=0)) == ["near", "far", "never"]
    assert order(w("near", to_bottleneck=0), w("urgent-less", priority=1, to_bottleneck=6))[0] == "urgent-less"


def test_a_step_near_its_queue_time_limit_goes_first_nearest_deadline_first():
    relaxed = w("relaxed", priority=9, due_in_s=900, limit_s=1000)       # 90 % of its limit left: not urgent
    near = w("near", due_in_s=200, limit_s=1000)                         # 20 % left: urgent
    nearer = w("nearer", queued_s=9, due_in_s=100, limit_s=1000)
    assert order(relaxed, near, nearer, w("plain", priority=3)) == ["nearer", "near", "relaxed", "plain"]


def test_free_tools_go_to_the_best_ranked_each_to_its_own_first_choice():
    waiting = [w("low", "T1", "T2", queued_s=1), w("high", "T1", priority=2, queued_s=2),
               w("only-t3", "T3", queued_s=3)]
    assert assign(waiting, {"T1", "T2"}, NOW) == {"high": "T1", "low": "T2"}
    assert assign(waiting, {"T1"}, NOW) == {"high": "T1"}                 # the lower-ranked waits
    assert assign(waiting, set(), NOW) == {}


def test_a_queue_limit_is_process_hours_on_the_lines_clock():
    end = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    assert queue_deadline(end, 24, 1.0) == end + timedelta(hours=24)
    assert queue_deadline(end, 24, 3600.0) == end + timedelta(seconds=24)   # ×3600: a process hour a wall second


@pytest.mark.parametrize(("since", "why"), [("E02", "names no earlier step"), ("E09", "names no earlier step")])
def test_a_queue_limit_must_name_an_earlier_step_of_the_route(tmp_path, since, why):
    text = (ROOT / "recipes/routes/engineering/seed-check.yaml").read_text()
    text = text.replace("recipe: met-film-cu-pad@v1}",
                        f"recipe: met-film-cu-pad@v1,\n       queue_limits: [{{since: {since}, max_h: 4, why: oxidation}}]}}")
    path = tmp_path / "route.yaml"
    path.write_text(text)
    (p,) = [p for p in lint(load_route(path, RecipeCatalog(ROOT / "recipes"))) if p.severity == "error"]
    assert (p.file, p.line, p.rule) == (str(path), 26, "queue-limit-since")     # the queue_limits line
    assert p.path == "spec.steps[1].queue_limits[0].since" and why in p.message and "step E02" in p.message


def test_inside_a_queue_time_zone_a_step_goes_before_one_in_none_of_the_same_priority():
    """A lot whose limit clock runs (not yet urgent) goes ahead of lots in no zone, nearest deadline
    first — but a lot's priority still comes first."""
    assert order(w("free", queued_s=1, to_bottleneck=0), w("zone-late", queued_s=2, due_in_s=9000, limit_s=10000),
                 w("zone-soon", queued_s=3, due_in_s=8000, limit_s=10000)) == ["zone-soon", "zone-late", "free"]
    assert order(w("zone", due_in_s=9000, limit_s=10000), w("hot", priority=3))[0] == "hot"
