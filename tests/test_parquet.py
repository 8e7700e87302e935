"""Parquet inputs: the same payouts as the CSV export on both engines, and the refusals
(float amounts, missing columns) as diagnostics."""
from __future__ import annotations

import io
import shutil
from contextlib import redirect_stdout
from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from conftest import EXAMPLES, PLANS, serial_runs  # noqa: E402
from kamrules.cli.main import main  # noqa: E402

CASE = EXAMPLES / "01-abtasty-nrr-upsell"


def _cli(*args):
    out = io.StringIO()
    with redirect_stdout(out), serial_runs():
        rc = main([str(a) for a in args])
    return rc, out.getvalue()


def _parquet_case(tmp_path, amount_dtype=pl.Decimal(18, 2)):
    """The AB Tasty case with deals as a typed Parquet file and the plan reading it."""
    data = tmp_path / "data"
    shutil.copytree(CASE, data)
    deals = pl.read_csv(data / "deals.csv", infer_schema=False)
    deals = deals.with_columns(pl.col("amount").cast(amount_dtype),
                               pl.col("close_date").str.to_date())
    deals.write_parquet(data / "deals.parquet")
    (data / "deals.csv").unlink()
    plan = tmp_path / "plan.kam"
    plan.write_text((PLANS / "abtasty-kam.kam").read_text().replace(
        "input deals key deal_id {", 'input deals from "deals.parquet" key deal_id {'))
    return plan, data


@pytest.mark.parametrize("engine", ["columnar", "interpreter"])
def test_parquet_gives_the_csv_payouts(tmp_path, engine, capsys):
    plan, data = _parquet_case(tmp_path)
    rc, got = _cli("run", plan, "--data", data, "--engine", engine)
    rc_csv, want = _cli("run", PLANS / "abtasty-kam.kam", "--data", CASE)
    assert rc == rc_csv == 0 and got == want


@pytest.mark.parametrize("engine", ["columnar", "interpreter"])
def test_float_amounts_are_refused(tmp_path, engine, capsys):
    plan, data = _parquet_case(tmp_path, amount_dtype=pl.Float64)
    rc, out = _cli("run", plan, "--data", data, "--engine", engine)
    err = capsys.readouterr().err
    assert rc == 1 and out == ""
    assert "deals.parquet" in err and "`amount` is stored as a floating-point number (f64)" in err.replace(
        "Float64", "f64") and "DECIMAL" in err


def test_a_missing_column_and_a_bad_cell_are_diagnostics(tmp_path, capsys):
    plan, data = _parquet_case(tmp_path)
    deals = pl.read_parquet(data / "deals.parquet")
    deals.drop("status").write_parquet(data / "deals.parquet")
    rc, _ = _cli("run", plan, "--data", data)
    assert rc == 1 and "has no column `status`" in capsys.readouterr().err
    deals.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(Decimal("12.345"))
                       .otherwise(pl.col("amount")).cast(pl.Decimal(18, 3)).alias("amount")) \
        .write_parquet(data / "deals.parquet")
    rc, _ = _cli("run", plan, "--data", data)
    err = capsys.readouterr().err
    assert rc == 1 and "deals.parquet row 3, column `amount`" in err and "more decimal places" in err
