"""Reporting lines (issue 17 item 4): the effective-dated `reports_to` input, `manager_of(
payee_id, day)` and `below(payee_id, manager_id, day)` (directly or through other managers);
two managers on one day (KR450) and a cycle (KR451) stop the run naming the rows. Both
engines print the same bytes; amounts below are computed by hand."""
from __future__ import annotations

import pytest

pytest.importorskip("polars")

from constructs_helpers import amounts as _amounts, both, write_case  # noqa: E402
from conftest import run_cli  # noqa: E402

PLAN = '''plan "t"
currency EUR
period quarter
payees people
input people key payee_id { payee_id: Text }
input reports_to { payee_id: Text  manager_id: Text  start_date: Date  end_date: optional Date }
input deals { deal_id: Text  owner_id: Text  amount: Money  close_date: Date }
let won = deals where close_date in period
component own = round(sum(amount for won where owner_id == payee.id) * 10%, cent, half_up)
component override = round(sum(amount for won where below(owner_id, payee.id, close_date)) * 2%, cent, half_up)
component has_boss = if present(manager_of(payee.id, period.end)) then 1 EUR else 0 EUR
'''
PEOPLE = ["payee_id", "ceo", "m1", "m2", "a", "b"]
# a moves from m1 to m2 on 2025-02-15; m1 and m2 report to ceo
LINES = ["payee_id,manager_id,start_date,end_date", "m1,ceo,2025-01-01,", "m2,ceo,2025-01-01,",
         "a,m1,2025-01-01,2025-02-14", "a,m2,2025-02-15,", "b,m2,2025-01-01,"]
DEALS = ["deal_id,owner_id,amount,close_date", "d1,a,1000,2025-01-20", "d2,a,2000,2025-03-01",
         "d3,b,500,2025-02-01", "d4,m1,100,2025-02-01"]


def test_overrides_follow_the_reporting_line_of_the_deal_day(tmp_path):
    checked, tables = write_case(tmp_path, PLAN, {"people": PEOPLE, "reports_to": LINES, "deals": DEALS})
    want, got = both(checked, tables)
    assert got == want
    # ceo: everything below it: 1000 + 2000 + 500 + 100 = 3600 x 2% = 72
    # m1: d1 only (a was m1's on 2025-01-20): 1000 x 2% = 20
    # m2: d2 (a is m2's on 2025-03-01) + d3 (b): 2500 x 2% = 50
    assert _amounts(want, "override") == {"a": "0.00", "b": "0.00", "ceo": "72.00", "m1": "20.00", "m2": "50.00"}
    assert _amounts(want, "has_boss") == {"a": "1.00", "b": "1.00", "ceo": "0.00", "m1": "1.00", "m2": "1.00"}


@pytest.mark.parametrize("extra, code, words", [
    # row 7 (line 7 of the file) overlaps a's line to m1 (row 4, to 2025-02-14) from 2025-02-01,
    # on no day a deal is credited: the whole file is checked, not only the days read
    (["a,m2,2025-02-01,2025-02-20"], "KR450", "a reports to 2 managers on 2025-02-01 (rows 4 and 7 of"),
    # ceo -> a from the first day: m1 -> ceo (row 2) -> a (row 7) -> m1 (row 4)
    (["ceo,a,2025-01-01,"], "KR451", "cycle on 2025-01-01: m1 -> ceo -> a -> m1 (rows 2, 7, 4 of"),
])
def test_data_errors_name_the_rows(tmp_path, extra, code, words):
    checked, tables = write_case(tmp_path, PLAN, {"people": PEOPLE, "reports_to": LINES + extra, "deals": DEALS})
    want, got = both(checked, tables)
    assert want == f"the interpreter stops: {code}" and got is None
    r = run_cli("run", tmp_path / "p.kam", "--data", tmp_path / "data", "-o", tmp_path / "out.csv")
    assert r.returncode != 0 and f"error[{code}]" in r.stderr
    assert not (tmp_path / "out.csv").exists()
    assert words in r.stderr


def test_the_checker_wants_a_reports_to_input(tmp_path):
    plan = PLAN.replace("input reports_to { payee_id: Text  manager_id: Text  start_date: Date  "
                        "end_date: optional Date }\n", "")
    (tmp_path / "p.kam").write_text(plan)
    r = run_cli("check", tmp_path / "p.kam")
    assert r.returncode != 0 and "needs a `reports_to` input" in r.stderr
