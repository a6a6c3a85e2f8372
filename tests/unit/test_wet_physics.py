"""Etch rates at the reference points of docs/process.md §1.6, within 2 %."""
import pytest

from drivers.wet_bench.chemistry import CHEMISTRY, arrhenius
from sim_hw.wet_bench import physics
from sim_hw.world import Layer, incoming_wafer


@pytest.mark.parametrize("chem,material,temp,per_s,unit", [
    ("boe", "SiO2", 25, 2.0, "nm"),      # ≈2 nm/s thermal oxide
    ("cr7", "Cu", 20, 45.0, "Å"),        # 45 Å/s
    ("cr7", "Ti", 20, 0.3, "Å"),
    ("pan", "Al", 50, 90.0, "Å"),        # 90 Å/s
    ("pan", "Cu", 50, 480.0, "Å"),       # also Cu 480 Å/s
])
def test_reference_rates(chem, material, temp, per_s, unit):
    rate = physics.rate_nm_min(chem, Layer(material, 1, "x")) * arrhenius(temp, CHEMISTRY[chem].t_ref_c)
    got = rate / 60 * (10 if unit == "Å" else 1)
    assert got == pytest.approx(per_s, rel=0.02)


def test_arrhenius_speeds_up_with_temperature():
    assert arrhenius(40, 25) == pytest.approx(1.92, rel=0.02)
    assert arrhenius(25, 25) == 1.0


def test_etch_stops_on_a_layer_it_does_not_attack():
    w = incoming_wafer("W")
    w.regions["field"] += [Layer("Ti", 100, "adhesion"), Layer("Cu", 300, "seed")]
    rep = physics.etch_wafer(w, "cu_etch", 600)
    assert [l.material for l in w.regions["field"]][-1] == "Ti" and rep.removed_nm == pytest.approx(300)


def test_strip_lifts_off_metal_on_top_of_resist():
    w = incoming_wafer("W")
    w.regions["field"] += [Layer("AZ4620", 9000, "resist"), Layer("Ti", 100, "cap"), Layer("Cu", 500, "cap")]
    rep = physics.etch_wafer(w, "nmp_strip", 600)
    assert w.top("field").material == "SiN" and rep.lifted_off == ["field:Ti", "field:Cu"]


def test_cured_polyimide_survives_the_stripper():
    w = incoming_wafer("W")
    w.regions["field"].append(Layer("PI", 5000, "passivation", props={"cured": True}))
    physics.etch_wafer(w, "nmp_strip", 3600)
    assert w.top("field").material == "PI"


def test_an_exposed_aluminium_pad_is_attacked_by_boe_through_its_native_oxide():
    """Over-etch is real: BOE clears the pad's 4 nm of Al2O3 (5 nm/min: 48 s), then eats Al at
    60 nm/min, and stops only at the silicon."""
    w = incoming_wafer("W")
    physics.etch_wafer(w, "boe", 60)
    assert w.top("pad").material == "Al" and w.top("pad").thickness_nm == pytest.approx(1000 - 12, abs=0.5)
    physics.etch_wafer(w, "boe", 1200)
    assert w.top("pad").material == "Si"
