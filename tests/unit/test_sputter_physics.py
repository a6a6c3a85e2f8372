"""The sputter physics against docs/process.md §1.1."""
import math

import pytest

from drivers.sputter import deposition as physics
from drivers.sputter import vacuum


def test_pumpdown_reaches_base_limit_in_minutes_without_leak():
    t = vacuum.time_to_pressure(5e-6)
    assert t is not None and 60 < t < 300
    assert vacuum.pumpdown_pressure(t) == pytest.approx(5e-6, rel=1e-6)


def test_pumpdown_is_monotonic_from_atmosphere():
    ps = [vacuum.pumpdown_pressure(t) for t in range(0, 400, 5)]
    assert ps[0] == pytest.approx(760)
    assert all(a >= b for a, b in zip(ps, ps[1:], strict=False))


def test_leak_raises_the_floor_above_the_limit_so_base_is_never_reached():
    leak = 0.05  # Torr·l/s
    assert vacuum.ultimate_pressure(leak) > 5e-6
    assert vacuum.time_to_pressure(5e-6, leak) is None
    assert vacuum.pumpdown_pressure(10_000, leak) > 5e-6


@pytest.mark.parametrize("material,power,rate_lo,rate_hi", [("Ti", 10, 200, 1000), ("Cu", 10, 500, 2000)])
def test_rates_fall_in_the_reference_window_at_typical_power(material, power, rate_lo, rate_hi):
    rate = physics.deposition_rate_nm_min(material, power)
    assert rate_lo <= rate <= rate_hi


def test_rate_is_proportional_to_power():
    assert physics.deposition_rate_nm_min("Cu", 12) == pytest.approx(2 * physics.deposition_rate_nm_min("Cu", 6))


def test_seed_recipe_times_give_target_thickness():
    # Ti 6 kW 20 s → 100 nm; Cu 12 kW 15 s → 300 nm (recipes/sputter/ti100-cu300-seed.yaml)
    assert physics.deposition_rate_nm_min("Ti", 6) * 20 / 60 == pytest.approx(100)
    assert physics.deposition_rate_nm_min("Cu", 12) * 15 / 60 == pytest.approx(300)


def test_preclean_removes_native_oxide_at_half_the_sio2_rate():
    assert physics.oxide_removed_nm(10, 4.0) == pytest.approx(4.0)
    assert physics.oxide_removed_nm(4, 4.0) == pytest.approx(2.0)
    assert not math.isnan(physics.oxide_removed_nm(0, 4.0))
