"""bench/workload.py's fast deals (the XL size's deals.csv, written by DuckDB and polars):
valid deals for the benchmark plan (every row accepted by the strict loader), ids in row
order, the copies' accounts shifted, the sizes' deal counts."""
from __future__ import annotations

import csv
import sys

import pytest

pytest.importorskip("duckdb", reason="duckdb (extra `duckdb`) is not installed")
pytest.importorskip("polars")

from conftest import ROOT  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.data.strict import load_table  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import workload  # noqa: E402


def test_fast_deals_are_valid_and_copied_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(workload, "BLOCK", 100)
    workload.fast_deals(str(tmp_path), payees=50, months=2, deals=250)
    rows = list(csv.reader(open(tmp_path / "deals.csv", encoding="utf-8")))
    assert rows[0] == ["deal_id", "account_id", "type", "amount", "close_date", "status"]
    body = rows[1:]
    assert [r[0] for r in body] == [f"dl-{i:08d}" for i in range(250)]
    # a copy: the block's cells, its account 7,919 x the copy's number further (mod 100 accounts)
    for i in (0, 37, 49):
        first, copy = body[i], body[200 + i]
        assert copy[2:] == first[2:]
        assert int(copy[1][4:]) == (int(first[1][4:]) + 2 * 7919) % 100
    plan = load(ROOT / "bench" / "abtasty-monthly.kam")[0]
    table = load_table(plan.inputs["deals"], str(tmp_path / "deals.csv"))
    assert len(table.rows) == 250
    assert all(r.values["close_date"].month <= 2 and r.values["close_date"].year == workload.YEAR for r in table.rows)
    assert {r.values["type"] for r in table.rows} <= set(workload.TYPES)
    assert {r.values["status"] for r in table.rows} <= set(workload.STATUS)
    assert workload.SIZES["ML"] == (100_000, 12, 5_000_000) and workload.SIZES["XL"][2] == 100_000_000
