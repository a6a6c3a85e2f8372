"""Hardware-in-loop: litho driver ↔ litho simulator over SCPI."""
from __future__ import annotations

import pytest

from drivers.errors import ToolAlarm
from tests.hil.helpers import driver, recipe, start, wafers
from tests.support import simulated

MOLD = "recipes/litho/mold-az4620-pad.yaml"
W = wafers(3)


@pytest.fixture
def line():
    with simulated(("LITHO01", "litho")) as sim:
        yield sim


def test_coat_expose_develop_opens_the_mold_over_the_pad(line):
    d = start(driver(line, "LITHO01"), recipe(MOLD), W)
    assert d.wait().job_state == "PROCESS_COMPLETE"
    assert [c.dest for c in d.state_log if c.dest.startswith("EXECUTING")][:4] == [
        "EXECUTING_COAT", "EXECUTING_BAKE", "EXECUTING_EXPOSE", "EXECUTING_DEVELOP"]
    for r in d.results():
        m = {x.name: x for x in r.measurements}
        assert m["resist.thickness"].value == pytest.approx(9.0, rel=0.04)    # k/sqrt(1500) = 9.0 µm
        assert m["dose"].value == pytest.approx(650)
    w = line.world.wafer(W[0])
    assert w.top("field").role == "resist" and w.top("field").material == "AZ4620"
    assert w.top("pad").role == "native_oxide"          # opened down to what was below
    assert w.max_temperature_c == 100


def test_spin_speed_sets_thickness(line):
    d = start(driver(line, "LITHO01"), recipe(MOLD, spin_rpm=4000, thickness_um=5.5), W[:1])
    d.wait()
    (r,) = d.results()
    assert r.measurements[0].value == pytest.approx(348.6 / 4000 ** 0.5, rel=0.04)


def test_low_lamp_leaves_openings_uncleared(line):
    line.call(line.inject, "LITHO01", "lamp_low", factor=0.5, persistent=True)
    d = start(driver(line, "LITHO01"), recipe(MOLD), W[:2])
    assert d.wait().job_state == "PROCESS_COMPLETE"       # the tool does not know: metrology will
    assert d.lamp_intensity() == pytest.approx(10.0)
    dose = {x.name: x for x in d.results()[0].measurements}["dose"]
    assert dose.value == pytest.approx(325) and dose.target == 650
    pad_top = line.world.wafer(W[0]).top("pad")
    assert pad_top.role == "resist" and pad_top.props["residue"] and pad_top.thickness_nm > 3000


def test_resist_low_alarms_before_coating(line):
    d = start(driver(line, "LITHO01"), recipe(MOLD), W)
    line.call(line.inject, "LITHO01", "resist_low")
    with pytest.raises(ToolAlarm, match=r"RESIST_LOW") as info:
        d.wait()
    assert info.value.name == "RESIST_LOW" and d.state == "ALARM"
    d.abort()
    statuses = [r.status for r in d.results()]
    assert "INCOMPLETE" in statuses and statuses[-1] == "NOT_PROCESSED"
    bad = next(r.wafer_id for r in d.results() if r.status == "INCOMPLETE")
    assert not line.world.wafer(bad).layers("field", role="resist")      # nothing was dispensed
