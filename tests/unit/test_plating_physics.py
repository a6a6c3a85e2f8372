"""Faraday's law at the reference points of docs/process.md §1.3, within 2 %."""
import pytest

from sim_hw.plater import physics


@pytest.mark.parametrize("bath,asd,minutes,um", [
    ("Cu-acid", 2, 11.6, 5.0), ("Cu-acid", 8, 29, 50.0), ("Ni-sulfamate", 2, 7.5, 3.0),
    ("Au-sulfite", 0.3, 2.7, 0.5), ("SnAg-MSA", 5, 17, 40.0),
])
def test_reference_points(bath, asd, minutes, um):
    assert physics.rate_um_per_min(bath, asd) * minutes == pytest.approx(um, rel=0.02)


def test_thickness_follows_the_area_that_really_plates():
    charge = physics.set_current_a(2, 70.7) * 696
    assert physics.thickness_um("Cu-acid", charge, 70.7) == pytest.approx(5.0, rel=0.01)
    assert physics.thickness_um("Cu-acid", charge, 141.4) == pytest.approx(2.5, rel=0.01)   # recipe area wrong ×2


def test_compliance_limits_the_current():
    amps, volts, cv = physics.operating_point("Cu-acid", 1.4, 20.0)
    assert cv and volts == physics.COMPLIANCE_V and amps == pytest.approx((10 - 0.3) / 20)


def test_thin_seed_plates_centre_thin():
    from drivers.materials import sheet_resistance
    thick = physics.terminal_nonuniformity_pct(sheet_resistance([("Cu", 300)]), 1.41)
    thin = physics.terminal_nonuniformity_pct(sheet_resistance([("Cu", 50)]), 1.41)
    assert 1 < thick < 4 and thin > 10
