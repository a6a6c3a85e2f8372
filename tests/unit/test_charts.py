"""The chart service: PNGs drawn from the ledger on request, over a real loopback HTTP server; bad
input is a 400 naming the parameter, nothing to draw a 404, a missing credential a 401 — never a
traceback."""
from __future__ import annotations

import base64
import math
import threading
import urllib.error
import urllib.request

import pytest

from drivers.jobs import Measurement, SiteReading, WaferResult
from line.chart_server import make_server
from line.ledger import Ledger
from line.spec_limits import Limits, judged

PNG = b"\x89PNG\r\n\x1a\n"


def lot_with_values(ledger: Ledger, lot: str, values: list[float]) -> int:
    ledger.ensure_lot(lot, len(values))
    run = ledger.begin_step(lot, "C03", "sputter", "PVD01", "r", 1, "h" * 64, f"{lot}.C03.r0")
    rows = [WaferResult(f"{lot}.{i + 1:02d}", i + 1, "PROCESSED", (Measurement("thickness.Cu", v, "nm", 1000.0),), {})
            for i, v in enumerate(values)]
    ledger.record_results(run.id, "PVD01", rows, judged(rows, 10, None))
    return run.id


def metrology_with_sites(ledger: Ledger, lot: str, wafers: int = 3, sites: int = 13) -> int:
    """A bump-height step: per wafer a centre-thin map on two rings (one wafer's edge far off)."""
    ledger.ensure_lot(lot, wafers)
    run = ledger.begin_step(lot, "C20", "metrology", "MET01", "r", 1, "h" * 64, f"{lot}.C20.r0")
    where = [(0.0, 0.0)] + [(r * math.cos(a * math.tau / 6), r * math.sin(a * math.tau / 6))
                            for r in (72.5, 145.0) for a in range(6)]
    rows = []
    for w in range(wafers):
        values = [48 + 0.02 * math.hypot(x, y) + (9 if w == 1 and math.hypot(x, y) > 100 else 0)
                  for x, y in where[:sites]]
        wid = f"{lot}.{w + 1:02d}"
        mean = sum(values) / len(values)
        rows.append(WaferResult(wid, w + 1, "PROCESSED", (Measurement("bump.height.mean", mean, "µm"),), {},
                                tuple(SiteReading("bump.height", i + 1, x, y, v, "µm")
                                      for i, ((x, y), v) in enumerate(zip(where, values, strict=False)))))
    ledger.record_results(run.id, "MET01", rows, {(r.wafer_id, "bump.height.mean"): Limits(45.0, 55.0) for r in rows})
    return run.id


@pytest.fixture
def charts(sqlite_url, monkeypatch):
    monkeypatch.setenv("BUMPLINE_CHARTS_AUTH", "ops:secret")
    ledger = Ledger(sqlite_url)
    runs = [lot_with_values(ledger, f"L{n}", [990 + n, 1010 - n, 1150 if n == 2 else 1000]) for n in range(4)]
    runs.append(metrology_with_sites(ledger, "M1"))
    server = make_server(ledger)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", runs
    server.shutdown()
    ledger.dispose()


def get(url: str, auth: str | None = "ops:secret") -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_trend_and_per_wafer_charts_are_drawn_from_the_ledger(charts):
    base, runs = charts
    code, body = get(f"{base}/charts/trend.png?step=C03&measurement=thickness.Cu&tool=PVD01&lots=3")
    assert code == 200 and body.startswith(PNG) and len(body) > 5000
    code, body = get(f"{base}/charts/step.png?run={runs[2]}&measurement=thickness.Cu")
    assert code == 200 and body.startswith(PNG)


def test_the_wafer_maps_of_a_metrology_step_come_from_the_sites_in_the_ledger(charts, sqlite_url):
    base, runs = charts
    code, every = get(f"{base}/charts/map.png?run={runs[-1]}&measurement=bump.height")
    assert code == 200 and every.startswith(PNG) and len(every) > 10000
    code, one = get(f"{base}/charts/map.png?run={runs[-1]}&measurement=bump.height&wafer=M1.02")
    assert code == 200 and one.startswith(PNG) and one != every
    ledger = Ledger(sqlite_url)
    sites = ledger.site_measurements(runs[-1], "bump.height")
    assert len(sites) == 39 and {(s.wafer_id, s.site) for s in sites} >= {("M1.01", 1), ("M1.03", 13)}
    assert sites[12].x_mm == pytest.approx(145 * math.cos(5 * math.tau / 6))
    ledger.dispose()


def test_an_spc_chart_is_drawn_once_a_baseline_is_frozen(charts, sqlite_url):
    from line.spc.control import freeze

    base, _ = charts
    code, body = get(f"{base}/charts/spc.png?step=C03&measurement=thickness.Cu&tool=PVD01")
    assert code == 404 and b"no SPC baseline for thickness.Cu at step C03 on PVD01" in body
    ledger = Ledger(sqlite_url)
    freeze(ledger, "C03", "thickness.Cu", "PVD01", "xbar_r", 3, "eng-anna", keep_outliers=True)   # the newest 3 lots
    code, body = get(f"{base}/charts/spc.png?step=C03&measurement=thickness.Cu&tool=PVD01")
    assert code == 404 and b"no lots after SPC baseline" in body
    for n in range(5, 8):
        lot_with_values(ledger, f"L{n}", [995.0 + n, 1005.0, 1000.0])
    ledger.dispose()
    code, body = get(f"{base}/charts/spc.png?step=C03&measurement=thickness.Cu&tool=PVD01")
    assert code == 200 and body.startswith(PNG) and len(body) > 10000
    assert get(f"{base}/charts/spc.png?step=C03&measurement=thickness.Cu")[0] == 400       # the tool is required


def test_a_wafer_map_needs_sites_and_says_so(charts):
    base, runs = charts
    code, body = get(f"{base}/charts/map.png?run={runs[0]}&measurement=thickness.Cu")
    assert code == 404 and b"no thickness.Cu sites for step run" in body
    code, body = get(f"{base}/charts/map.png?run={runs[-1]}&measurement=bump.height&wafer=M1.99")
    assert code == 404 and b"on M1.99" in body


@pytest.mark.parametrize(("query", "code", "says"), [
    ("/charts/trend.png?measurement=thickness.Cu", 400, "'step' is required"),
    ("/charts/trend.png?step=C03&measurement=thickness.Cu&lots=abc", 400, "'lots'"),
    ("/charts/trend.png?step=C03&measurement=thickness.Cu&lots=100000", 400, "'lots'"),
    ("/charts/step.png?run=-1&measurement=x", 400, "'run'"),
    ("/charts/trend.png?step=" + "C" * 5000, 400, "longer than"),
    ("/charts/trend.png?step=C99&measurement=thickness.Cu", 404, "no thickness.Cu at step C99"),
    ("/charts/step.png?run=999&measurement=thickness.Cu", 404, "step run 999"),
    ("/charts/map.png?measurement=bump.height", 400, "'run'"),
    ("/charts/map.png?run=1&measurement=bump.height&wafer=" + "W" * 100, 400, "'wafer'"),
    ("/etc/passwd", 404, "no chart"),
])
def test_bad_requests_get_a_short_answer_naming_what_is_wrong(charts, query, code, says):
    base, _ = charts
    got, body = get(base + query)
    assert got == code and says in body.decode() and b"Traceback" not in body


def test_without_the_credential_nothing_is_drawn(charts):
    base, _ = charts
    assert get(f"{base}/charts/trend.png?step=C03&measurement=thickness.Cu", auth=None)[0] == 401
    assert get(f"{base}/charts/trend.png?step=C03&measurement=thickness.Cu", auth="ops:wrong")[0] == 401
    assert get(f"{base}/health")[0] == 200
