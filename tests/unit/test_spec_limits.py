"""The limits a measurement is judged by: a route spec where the step has one, else target ±
tolerance; a reading that is not a number is never within them; the ledger stores them with the
value, so what an operator reads later is what the step decided on."""
from __future__ import annotations

import math
from types import SimpleNamespace

from drivers.jobs import Measurement, WaferResult
from line.ledger import Ledger
from line.spec_limits import Limits, judged, limits_for, spec_problems, within


def result(wafer: str, value: float, name: str = "thickness.Cu", target: float | None = 1000.0) -> WaferResult:
    return WaferResult(wafer, 1, "PROCESSED", (Measurement(name, value, "nm", target),), {})


def test_a_route_spec_wins_over_the_target_and_names_only_its_measurements():
    spec = SimpleNamespace(measurement="thickness.Cu", lsl=950.0, usl=1050.0)
    assert limits_for(result("W1", 990).measurements[0], 10, [spec]) == Limits(950, 1050)
    assert limits_for(result("W1", 990, name="arcs.micro").measurements[0], 10, [spec]) is None
    assert limits_for(result("W1", 990).measurements[0], 10, None) == Limits(900, 1100)
    assert limits_for(result("W1", 990, target=None).measurements[0], 10, None) is None


def test_nan_and_infinity_are_never_within_any_limits():
    assert not within(math.nan, None, None) and not within(math.inf, 0, None) and not within(math.nan, 900, 1100)
    problems = spec_problems([result("W1", math.nan), result("W2", 1000)], 10)
    assert len(problems) == 1 and problems[0].startswith("W1 thickness.Cu=nan")


def test_the_ledger_keeps_the_limits_with_each_value(sqlite_url):
    ledger = Ledger(sqlite_url)
    ledger.ensure_lot("L", 2)
    run = ledger.begin_step("L", "S1", "sputter", "PVD01", "r", 1, "h" * 64, "L.S1.r0")
    rows = [result("L.01", 1000), result("L.02", 1200)]
    ledger.record_results(run.id, "PVD01", rows, judged(rows, 10, None))
    got = {ms.wafer_id: (ms.lsl, ms.usl, ms.passed) for ms in ledger.measurements(run.id)}
    assert got == {"L.01": (900, 1100, True), "L.02": (900, 1100, False)}
    ledger.dispose()
