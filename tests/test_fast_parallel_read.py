"""The fast loader reads the input files side by side (data/fast.py load_frames, READERS
threads): its verdicts are taken in the plan's order, so the diagnostics of several bad
files come in the plan's order, every run the same, and the frames are those read one
file after the other."""
from __future__ import annotations

from unittest import mock

import pytest

pytest.importorskip("polars")

from conftest import run_cli  # noqa: E402
from kamrules.data import fast  # noqa: E402

PLAN = """plan "p"
version "1"
currency EUR
period month
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
}
input deals {
  owner_id: Text
  amount: Money
  close_date: Date
}
input bonuses {
  owner_id: Text
  amount: Money
}

component c = sum(amount for deals where owner_id == payee.id and close_date in period)
            + sum(amount for bonuses where owner_id == payee.id)
"""


def _case(tmp_path, deals, bonuses):
    (tmp_path / "p.kam").write_text(PLAN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("payee_id\nk1\nk2\n")
    (data / "deals.csv").write_text(deals)
    (data / "bonuses.csv").write_text(bonuses)
    return tmp_path / "p.kam", data


def test_two_bad_files_are_reported_in_the_plans_order(tmp_path):
    plan, data = _case(tmp_path, "owner_id,amount,close_date\nk1,12.x,2025-01-05\n",
                       "owner_id,amount\nk2,abc\n")
    runs = [run_cli("run", plan, "--data", data) for _ in range(3)]
    assert all(r.returncode == 1 and r.stdout == "" for r in runs)
    assert runs[0].stderr == runs[1].stderr == runs[2].stderr
    err = runs[0].stderr
    assert "deals.csv:2:" in err and "bonuses.csv:2:" in err
    assert err.index("deals.csv:2:") < err.index("bonuses.csv:2:")  # deals is declared first


def test_side_by_side_is_one_after_the_other(tmp_path):
    plan, data = _case(tmp_path, "owner_id,amount,close_date\nk1,12.50,2025-01-05\nk2,7.25,2025-02-01\n",
                       "owner_id,amount\nk2,100.00\n")
    both = run_cli("run", plan, "--data", data)
    with mock.patch.object(fast, "READERS", 1):
        alone = run_cli("run", plan, "--data", data)
    assert both.returncode == alone.returncode == 0 and both.stdout == alone.stdout
    # by hand: k1 January 12.50; k2 January 100.00 (bonus, every period), February 107.25
    assert "k1,2025-01,c,12.50,EUR" in both.stdout and "k2,2025-02,c,107.25,EUR" in both.stdout


def test_the_largest_file_is_read_first_and_the_verdicts_keep_the_plans_order(tmp_path):
    # bonuses.csv, declared last, is the largest: it is read first (data/fast.py reads the
    # largest files first); its bad cell is still reported after the one of deals.csv
    bonuses = "owner_id,amount\n" + "k1,1.00\n" * 2000 + "k2,abc\n"
    plan, data = _case(tmp_path, "owner_id,amount,close_date\nk1,12.x,2025-01-05\n", bonuses)
    order = []
    real = fast._fast_frame

    def spy(plan, spec, *args, **kwargs):
        order.append(spec.name)
        return real(plan, spec, *args, **kwargs)
    with mock.patch.object(fast, "_fast_frame", spy), mock.patch.object(fast, "READERS", 1):
        got = run_cli("run", plan, "--data", data)
    assert order[0] == "bonuses"  # 2,000 lines, before deals.csv (1) and people.csv (2)
    assert got.returncode == 1 and got.stdout == ""
    assert got.stderr.index("deals.csv:2:") < got.stderr.index("bonuses.csv:2002:")
