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
