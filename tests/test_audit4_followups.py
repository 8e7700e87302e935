"""Findings of the fourth audit (tests/data/audit4/FINDINGS.md) fixed after it, in the files the
audit did not own: a missing file's did-you-mean compares names without their extension
(F23), `simulate --revenue` lists only the amounts it can name (F24), and `kamrules test` on a
path that does not exist prints the error alone, no "0 passed" summary (F25)."""
from __future__ import annotations

import shutil
from pathlib import Path

from conftest import run_cli

GATE = Path(__file__).resolve().parent / "data" / "audit4" / "decel-gate"


def test_a_missing_file_is_not_said_to_be_another_one_that_shares_its_extension(tmp_path):
    """targets.csv missing beside deals.csv and people.csv: 'targets' and 'deals' are not close
    (before: `did you mean deals.csv?`, the shared '.csv' making them look alike)."""
    data = tmp_path / "data"
    shutil.copytree(GATE / "data", data)
    (data / "targets.csv").unlink()
    res = run_cli("run", GATE / "plan.kam", "--data", data)
    assert res.returncode == 1
    assert "hint: files there: deals.csv, people.csv" in res.stderr
    assert "did you mean" not in res.stderr
    # one letter off is still found, with its extension
    (data / "target.csv").write_bytes((GATE / "data" / "targets.csv").read_bytes())
    res = run_cli("run", GATE / "plan.kam", "--data", data)
    assert res.returncode == 1 and "hint: did you mean `target.csv`?" in res.stderr


def test_simulate_revenue_lists_the_amounts_it_can_name():
    """decel-gate's lets and params: quota, bookings (Money), on_target_variable (Money) are
    amounts; the rowsets and rates are not offered."""
    res = run_cli("simulate", GATE / "plan.kam", "--data", GATE / "data", "--revenue", "foo")
    assert res.returncode == 1
    hint = next(line for line in res.stderr.splitlines() if "hint:" in line)
    assert hint.strip() == "hint: lets: quota, bookings, on_target_variable"


def test_kamrules_test_on_a_missing_path_prints_the_error_alone(tmp_path):
    res = run_cli("test", tmp_path / "nowhere")
    assert res.returncode == 1
    assert res.stdout == ""
    assert f"error[KR401]: {tmp_path / 'nowhere'} does not exist" in res.stderr


OVERRIDE = GATE.parent / "override-prorate"


def test_a_period_without_rows_pays_a_component_that_reads_none():
    """override-prorate's presence_bonus = payee.quarterly_bonus * prorate(start_date, end_date)
    reads no row: --period 2025-Q3, where no deal falls, is computed (was KR721), the same on
    every engine. Eligible in Q3 (started by September 30, not left before July 1): m1, r1, r2
    (900.00 each), r4 and r5 (600.00; r5 joins on July 1, present all 92 days); r3 left on
    March 10. No deal: commission 0, m1's override 0."""
    want = {"m1": "900.00", "r1": "900.00", "r2": "900.00", "r4": "600.00", "r5": "600.00"}
    for engine in ("interpreter", "columnar", "duckdb"):
        res = run_cli("run", OVERRIDE / "plan.kam", "--data", OVERRIDE / "data", "--period", "2025-Q3",
                      "--engine", engine)
        assert res.returncode == 0, res.stderr
        got = {r.split(",")[0]: r.split(",")[3] for r in res.stdout.splitlines()[1:] if ",total," in r}
        assert got == want, engine


def test_a_period_without_rows_is_still_refused_when_every_component_reads_rows():
    """decel-gate pays only on deals: --period 2024-Q3 is a period of no row, KR721."""
    res = run_cli("run", GATE / "plan.kam", "--data", GATE / "data", "--period", "2024-Q3")
    assert res.returncode == 1 and "error[KR721]: --period 2024-Q3: outside the years the data reaches" in res.stderr
