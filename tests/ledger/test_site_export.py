"""A lot's wafer-map sites leave the ledger as data: `lot show --json` carries them per step and
`lot show --csv F --sites` writes one row per site with its position."""
from __future__ import annotations

import csv

import pytest

from line.cli.lot_data import SITE_FIELDS, lot_detail, write_csv
from line.ledger import Ledger
from tests.unit.test_charts import metrology_with_sites


def test_every_site_is_exported_with_where_it_was_read(db_url, tmp_path):
    ledger = Ledger(db_url)
    metrology_with_sites(ledger, "S1", wafers=2)
    detail = lot_detail(ledger, ledger.lot("S1"))
    (step,) = detail["steps"]
    assert len(step["sites"]) == 26 and step["sites"][0] == {
        "wafer": "S1.01", "name": "bump.height", "site": 1, "x_mm": 0.0, "y_mm": 0.0, "value": 48.0, "unit": "µm"}
    out = tmp_path / "sites.csv"
    write_csv(ledger, "S1", str(out), sites=True)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == SITE_FIELDS and len(rows) == 26
    edge = rows[12]
    assert (edge["wafer"], edge["site"], edge["step"], edge["tool"]) == ("S1.01", "13", "C20", "MET01")
    assert float(edge["x_mm"]) ** 2 + float(edge["y_mm"]) ** 2 == pytest.approx(145.0 ** 2)
    ledger.dispose()
