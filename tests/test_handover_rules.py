"""Rows that break a `require` rule: the columnar engine checks the rules on the columns,
then the interpreter words the diagnostics from the flagged rows alone (run/session.py
`_broken_rules`), instead of the whole run being loaded again by the strict loader. The
diagnostics must be the interpreter's on the whole data (`--engine interpreter`): the same
codes, rows and messages, in the same order; the strict loader's whole load is never used."""
from __future__ import annotations

from unittest import mock

import pytest

pytest.importorskip("polars")

from kamrules.diagnostics.diagnostic import KamError  # noqa: E402
from kamrules.run import session as session_module  # noqa: E402
from kamrules.run.session import Session  # noqa: E402

PLAN = """plan "rules"
currency EUR
period quarter
payees people
round components to cent half_up

input people key payee_id { payee_id: Text }
input deals key deal_id { deal_id: Text  amount: Money  qty: Count  close_date: Date }
input splits { deal_id: Text references deals  payee_id: Text references people  share: Rate }
require every deals:
  sum(share for splits where splits.deal_id == deals.deal_id) == 100%
  else "the split lines of a deal total 100%"
require every splits: share > 0% and share <= 100%
require every deals: amount / qty > 0 EUR
component c = sum(round(deals[deal_id].amount * share * 6%, cent, half_up) for splits
  where payee_id == payee.id and deals[deal_id].close_date in period)
"""
PEOPLE = "payee_id\na\nb\nc\n"


def _diagnostics(tmp_path, deals: str, splits: str, engine: str) -> list:
    folder = tmp_path / engine
    folder.mkdir()
    (folder / "people.csv").write_text(PEOPLE)
    (folder / "deals.csv").write_text("deal_id,amount,qty,close_date\n" + deals)
    (folder / "splits.csv").write_text("deal_id,payee_id,share\n" + splits)
    plan = tmp_path / "p.kam"
    plan.write_text(PLAN)
    session = Session(str(plan), str(folder), None, engine)
    whole = mock.patch.object(session_module, "load_data", side_effect=AssertionError("the whole strict load"))
    with pytest.raises(KamError) as err, (whole if engine == "auto" else mock.MagicMock()):
        session.execute()
    if engine == "auto":
        assert session.handed_over is None  # the run stopped on the rules' diagnostics
    return [(d.code, d.message.replace(str(folder), "DATA"), d.span.line if d.span else None)
            for d in err.value.diagnostics]


def test_false_rows_of_two_rules_are_the_interpreters(tmp_path):
    deals = ("d1,1000,1,2025-01-10\n"  # splits 60% + 40%: passes
             "d2,1000,2,2025-02-10\n"  # splits 50% + 40%: breaks rule 1
             "d3,500,1,2025-03-10\n"   # 100% but one line at 0%: breaks rule 2 (the 0% line)
             "d4,700,1,2025-03-11\n")  # no split at all: breaks rule 1
    splits = "d1,a,60%\nd1,b,40%\nd2,a,50%\nd2,c,40%\nd3,b,100%\nd3,c,0%\n"
    want = _diagnostics(tmp_path, deals, splits, "interpreter")
    # by hand: rule 1 on d2 (row 3) and d4 (row 5), then rule 2 on the split d3,c (row 7)
    assert [(c, line) for c, _, line in want] == [("KR410", 10), ("KR410", 10), ("KR410", 13)]
    assert "deals d2 (row 3 of DATA/deals.csv)" in want[0][1] and "deals d4 (row 5" in want[1][1]
    assert "(row 7 of DATA/splits.csv)" in want[2][1]
    assert _diagnostics(tmp_path, deals, splits, "auto") == want


def test_a_rule_that_cannot_be_computed_on_a_row_is_the_interpreters(tmp_path):
    deals = "d1,1000,1,2025-01-10\nd2,1000,0,2025-02-10\nd3,400,0,2025-02-11\n"  # d2, d3: amount / 0
    splits = "d1,a,100%\nd2,a,100%\nd3,b,100%\n"
    want = _diagnostics(tmp_path, deals, splits, "interpreter")
    assert len(want) == 1 and "checking row 3 of DATA/deals.csv, d2" in want[0][1]  # the first, alone
    assert _diagnostics(tmp_path, deals, splits, "auto") == want
