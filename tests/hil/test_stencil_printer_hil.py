"""Hardware-in-loop: stencil printer driver ↔ simulator over Modbus TCP."""
from __future__ import annotations

import pytest

from drivers.errors import ToolAlarm
from drivers.stencil_printer import paste as physics
from sim_hw.world import Layer
from tests.hil.helpers import driver, recipe, start, wafers
from tests.support import simulated

BUMP = "recipes/stencil_printer/sac305-bump-print.yaml"
W = wafers(6)


@pytest.fixture
def line():
    with simulated(("SP01", "stencil_printer")) as sim:
        yield sim


def volumes(d):
    return [{m.name: m.value for m in r.measurements}["paste.volume"] for r in d.results()]


def test_print_on_pads_transfers_by_area_ratio_and_wipes(line):
    d = start(driver(line, "SP01"), recipe(BUMP), W)
    assert d.wait().job_state == "PROCESS_COMPLETE"
    assert d.poll().readings["prints_since_wipe"] == 1          # 6 prints, a wipe after the 5th
    expected = physics.transfer("SAC305-T5", "pads", 160, 60, 0.3, 50, 1) * 100
    assert all(abs(v - expected) < 12 for v in volumes(d)) and expected > 75
    paste = line.world.wafer(W[0]).top("pad")
    assert paste.role == "paste" and paste.material == "SAC305"
    assert d.backend.query("loaded_stencil") == "STN-B160-60"


def test_small_area_ratio_and_three_ball_rule_cut_the_volume(line):
    d = start(driver(line, "SP01"), recipe(BUMP, aperture_um=70, wipe_every=10), W[:2])
    with pytest.raises(ToolAlarm, match=r"PRINT_VOLUME_LOW") as info:        # AR 0.29 and 70 µm < 3 × 25 µm: SPI alarm
        d.wait()
    assert info.value.name == "PRINT_VOLUME_LOW"


def test_fill_holes_fills_the_resist_through_hole(line):
    line.world.deposit(W[0], ("field",), Layer("THICK-NEG", 50_000, "resist"))
    d = start(driver(line, "SP01"), recipe("recipes/stencil_printer/ag-epoxy-hole-fill.yaml"), W[:1])
    d.wait()
    paste = line.world.wafer(W[0]).top("pad")
    assert paste.material == "Ag-epoxy" and paste.thickness_nm == pytest.approx(50_000 * 0.98, rel=0.1)


def test_clogged_apertures_give_low_volume_and_an_spi_alarm(line):
    line.call(line.inject, "SP01", "clogged_apertures", factor=0.4, persistent=True)
    d = start(driver(line, "SP01"), recipe(BUMP), W)
    with pytest.raises(ToolAlarm, match=r"PRINT_VOLUME_LOW") as info:
        d.wait()
    assert info.value.name == "PRINT_VOLUME_LOW"
    d.abort()
    first = d.results()[0]
    assert first.status == "INCOMPLETE" and {m.name: m.value for m in first.measurements}["paste.volume"] < 45


def test_misalignment_alarms_before_printing(line):
    line.call(line.inject, "SP01", "misalignment", um=45, persistent=True)
    d = start(driver(line, "SP01"), recipe(BUMP), W[:2])
    with pytest.raises(ToolAlarm, match=r"MISALIGNMENT") as info:
        d.wait()
    assert info.value.name == "MISALIGNMENT"
    d.abort()
    assert not line.world.wafer(W[0]).layers("pad", role="paste")
    assert d.results()[0].data["offset_um"] > 25


def test_expired_paste_alarms(line):
    line.call(line.inject, "SP01", "paste_expired", persistent=True)
    d = start(driver(line, "SP01"), recipe(BUMP), W[:2])
    with pytest.raises(ToolAlarm, match=r"PASTE_EXPIRED") as info:
        d.wait()
    assert info.value.name == "PASTE_EXPIRED" and d.state == "ALARM"
    assert d.poll().readings["paste_age_min"] > 8 * 60


def test_the_paste_open_time_starts_when_the_job_starts_not_when_it_was_set_up(line):
    """A job set up and left waiting (a host busy elsewhere) gets fresh paste when it starts."""
    d = driver(line, "SP01")
    d.connect()
    d.setup("J1", W[:2], recipe(BUMP))
    t0 = line.clock.now()
    line.clock.set_speed(1e7)                       # nine simulated hours pass while the job waits
    while line.clock.now() - t0 < 9 * 3600:
        pass
    line.clock.set_speed(600)
    d.start()
    assert d.wait().job_state == "PROCESS_COMPLETE"
    assert d.poll().readings["paste_age_min"] < 60
