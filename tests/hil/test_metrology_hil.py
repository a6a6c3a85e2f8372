"""Hardware-in-loop: metrology driver ↔ simulator over SCPI; readings come from the world model."""
from __future__ import annotations

import math
import statistics

import pytest

from drivers.errors import ToolAlarm
from sim_hw.world import Layer
from tests.hil.helpers import driver, recipe, start, wafers
from tests.support import simulated

FILM = "recipes/metrology/film-cu-pad.yaml"
W = wafers(3)


@pytest.fixture
def line():
    with simulated(("MET01", "metrology")) as sim:
        for w in W:
            sim.world.deposit(w, ("pad", "field"), Layer("Cu", 5000.0, "rdl", props={"nonuniformity_pct": 8.0}))
        yield sim


def means(d):
    return [{m.name: m.value for m in r.measurements}["film.Cu.mean"] for r in d.results()]


def test_film_thickness_reads_the_world_with_noise_and_its_profile(line):
    d = start(driver(line, "MET01"), recipe(FILM), W)
    assert d.wait().job_state == "PROCESS_COMPLETE"
    assert all(abs(m - 5000) < 5000 * 0.01 for m in means(d))
    row = d.results()[0].data
    assert len(row["sites"]) == 13
    assert row["sites"][0] < statistics.mean(row["sites"][-6:])            # centre-thin
    r_max = 1 - 5 / 150                                                      # edge exclusion 5 mm
    assert row["nonuniformity_pct"] == pytest.approx(8.0 * r_max ** 2 / 2, abs=0.6)   # (max−min)/2·mean


def test_every_site_is_reported_where_it_was_read_for_the_wafer_map(line):
    d = start(driver(line, "MET01"), recipe(FILM), W[:1])
    d.wait()
    sites = d.results()[0].sites
    assert [s.site for s in sites] == list(range(1, 14)) and {s.name for s in sites} == {"film.Cu"}
    assert [s.value for s in sites] == d.results()[0].data["sites"] and sites[0].unit == "nm"
    radius = [math.hypot(s.x_mm, s.y_mm) for s in sites]
    assert radius[0] == 0 and max(radius) == pytest.approx(145, abs=0.01)       # centre, edge exclusion
    assert len({(s.x_mm, s.y_mm) for s in sites}) == 13                          # no two sites in one place
    ring = [s.value for s, r in zip(sites, radius, strict=True) if r > 140]
    assert statistics.mean(ring) > sites[0].value                                # the map shows centre-thin


def test_bump_height_sums_the_metal_above_the_pad(line):
    line.world.deposit(W[0], ("pad",), Layer("SnAg", 40_000.0, "bump"))
    d = start(driver(line, "MET01"), recipe("recipes/metrology/bump-height.yaml"), W[:1])
    d.wait()
    m = {x.name: x.value for x in d.results()[0].measurements}
    assert m["bump.height.mean"] == pytest.approx(45.0, rel=0.02)


def test_calibration_drift_biases_every_reading(line):
    line.call(line.inject, "MET01", "calibration_drift", pct=4, persistent=True)
    d = start(driver(line, "MET01"), recipe(FILM), W)
    d.wait()
    assert statistics.mean(means(d)) == pytest.approx(5200, rel=0.01)


def test_pattern_recognition_failure_alarms_on_that_wafer(line):
    line.call(line.inject, "MET01", "pattern_recognition", slot=2)
    d = start(driver(line, "MET01"), recipe(FILM), W)
    with pytest.raises(ToolAlarm, match=r"PATTERN_RECOGNITION_FAILED") as info:
        d.wait()
    assert info.value.name == "PATTERN_RECOGNITION_FAILED"
    d.abort()
    assert [r.status for r in d.results()] == ["PROCESSED", "INCOMPLETE", "NOT_PROCESSED"]


def test_paste_volume_is_read_per_site(line):
    line.world.deposit(W[0], ("pad",), Layer("SAC305", 50_000.0, "paste", props={"volume_pct": 84.0}))
    d = start(driver(line, "MET01"), recipe(FILM, measurement="paste_volume", material=None, sites=9), W[:1])
    d.wait()
    m = {x.name: x.value for x in d.results()[0].measurements}
    assert m["paste.volume.mean"] == pytest.approx(84.0, rel=0.03) and len(d.results()[0].data["sites"]) == 9
