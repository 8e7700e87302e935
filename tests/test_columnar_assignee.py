"""assignee(account, role, day) on the columnar engine (aggregate.RowBuilder.assignee: the
rows joined with the role's assignments in the rows' order) against the interpreter: every
deal held, a deal held by nobody on its day (before the first assignment, after the last),
an open-ended assignment, a change of holder mid-month, and two assignments of one role on
one day (the interpreter stops with its diagnostic; the columnar engine hands over)."""
from __future__ import annotations

import pytest

pytest.importorskip("polars")

from constructs_helpers import both, write_case  # noqa: E402

PLAN = """plan "assignee"
version "1"
currency EUR
period month
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
}
input assignments {
  account_id: Text
  payee_id: Text
  role: Text
  start_date: Date
  end_date: optional Date
}
input deals key deal_id {
  deal_id: Text
  account_id: Text
  amount: Money
  close_date: Date
}

component credited = sum(amount for deals where close_date in period
                                            and assignee(account_id, "kam", close_date) == payee.id)
"""

PEOPLE = ["payee_id", "k1", "k2"]


def _deals(*rows):
    return ["deal_id,account_id,amount,close_date"] + [",".join(r) for r in rows]


def test_holders_change_and_gaps(tmp_path):
    asg = ["account_id,payee_id,role,start_date,end_date",
           "a1,k1,kam,2025-01-01,2025-01-15",   # k1 holds a1 to Jan 15
           "a1,k2,kam,2025-01-16,",              # then k2, open-ended
           "a2,k2,kam,2025-02-01,2025-02-28",   # a2 held in February only
           "a2,k1,sdr,2025-01-01,"]              # another role: never read
    deals = _deals(("d1", "a1", "100.00", "2025-01-10"),   # k1
                   ("d2", "a1", "250.50", "2025-01-16"),   # k2 (first day of its assignment)
                   ("d3", "a2", "75.25", "2025-01-20"),    # nobody holds a2 as kam in January
                   ("d4", "a2", "10.00", "2025-02-28"),    # k2 (last day)
                   ("d5", "a3", "999.00", "2025-02-02"))   # an account never assigned
    checked, tables = write_case(tmp_path, PLAN, {"people": PEOPLE, "assignments": asg, "deals": deals})
    want, got = both(checked, tables)
    assert got == want
    # by hand: January k1 100.00, k2 250.50; February k1 0.00, k2 10.00
    assert "k1,2025-01,credited,100.00,EUR" in want and "k2,2025-01,credited,250.50,EUR" in want
    assert "k1,2025-02,credited,0.00,EUR" in want and "k2,2025-02,credited,10.00,EUR" in want


def test_two_holders_on_one_day_stop_both_engines(tmp_path):
    asg = ["account_id,payee_id,role,start_date,end_date",
           "a1,k1,kam,2025-01-01,2025-01-20",
           "a1,k2,kam,2025-01-20,"]              # overlaps k1 on Jan 20
    deals = _deals(("d1", "a1", "100.00", "2025-01-05"), ("d2", "a1", "40.00", "2025-01-20"))
    checked, tables = write_case(tmp_path, PLAN, {"people": PEOPLE, "assignments": asg, "deals": deals})
    want, got = both(checked, tables)
    assert want.startswith("the interpreter stops: KR") and got is None
