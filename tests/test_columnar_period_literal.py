"""A period written in the plan (`2025-12`, `2025-Q4`, `2025`) on the columnar engine
(frame.PeriodConst: the same period on every frame row) against the interpreter: compared
with the calculation period and its attributes (== and !=), a date `in` it (in a filter and
on the frame), its own attributes (`2025-Q2.start`, `.quarter`, `.year_to_date`)."""
from __future__ import annotations

import pytest

pytest.importorskip("polars")

from constructs_helpers import both, write_case  # noqa: E402

HEAD = """plan "literal"
version "1"
currency EUR
period month
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text
  amount: Money
  close_date: Date
}

let won = sum(amount for deals where owner_id == payee.id and close_date in period)
"""

PEOPLE = ["payee_id", "k1", "k2"]
DEALS = ["deal_id,owner_id,amount,close_date",
         "d1,k1,100.00,2025-03-10", "d2,k1,200.00,2025-06-30", "d3,k2,50.00,2025-07-01",
         "d4,k2,400.00,2025-12-31", "d5,k1,1000.00,2024-12-31"]

CASES = {
    # December 2025 only: k2 4.00 (1% of 400.00), every other month 0.00
    "equal": ("component december = if period.month == 2025-12 then won * 1% else 0 EUR",
              ["k2,2025-12,december,4.00,EUR", "k1,2025-03,december,0.00,EUR"]),
    # every month but those of Q1 2025: k1's March deal pays nothing, June's 2.00
    "not_equal": ("component not_q1 = if period.quarter != 2025-Q1 then won * 1% else 0 EUR",
                  ["k1,2025-03,not_q1,0.00,EUR", "k1,2025-06,not_q1,2.00,EUR"]),
    # the calculation period itself against a month; its year against a literal month's year
    "whole_period": ("component march = if period == 2025-03 and period.year == 2025-01.year then won else 0 EUR",
                     ["k1,2025-03,march,100.00,EUR", "k1,2025-06,march,0.00,EUR"]),
    # a filter on a literal quarter: H2's deals of the payee, counted every month (k2: 450.00)
    "in_filter": ("component h2 = sum(amount for deals where owner_id == payee.id and close_date in 2025-Q3)"
                  " + sum(amount for deals where owner_id == payee.id and close_date in 2025-Q4)",
                  ["k2,2025-01,h2,450.00,EUR", "k1,2025-01,h2,0.00,EUR"]),
    # a literal's attributes: the start of Q2 is April 1st, 2025-06's quarter is Q2, and
    # 2025-06.year_to_date runs January 1st to June 30th (k1: 100.00 + 200.00)
    "attributes": ("component attrs = if period.start >= 2025-Q2.start and period.quarter == 2025-06.quarter"
                   " then sum(amount for deals where owner_id == payee.id and close_date in 2025-06.year_to_date)"
                   " else 0 EUR",
                   ["k1,2025-04,attrs,300.00,EUR", "k1,2025-03,attrs,0.00,EUR", "k1,2025-07,attrs,0.00,EUR"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_period_literal_gives_the_interpreters_payouts(tmp_path, name):
    component, lines = CASES[name]
    checked, tables = write_case(tmp_path, HEAD + component + "\n", {"people": PEOPLE, "deals": DEALS})
    want, got = both(checked, tables)
    assert got == want
    for line in lines:  # by hand, in the comments above
        assert line in want


LOOKUP = """plan "lookup"
version "1"
currency EUR
period quarter
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
}
input extra key payee_id {
  payee_id: Text
  focus: optional Period
}
input sales {
  owner_id: Text
  amount: Money
  close_date: Date
}

let e = extra[payee.id]
component won = sum(amount for sales where owner_id == payee.id and close_date in period)
component on_focus = if e.focus == period then 100 EUR else 0 EUR
component off_focus = if e.focus != period.year then 1 EUR else 0 EUR
component literal = if extra[payee.id].focus == 2025-Q2 then 10 EUR else 0 EUR
"""


SALES = ["owner_id,amount,close_date", "k1,5.00,2025-01-15", "k2,7.00,2025-12-15"]  # Q1 to Q4 2025


def test_a_period_column_of_a_looked_up_row(tmp_path):
    # k1's focus is Q2 2025, k2's is the year 2025, k3 has none (empty cell): by hand,
    # on_focus pays 100.00 to k1 in Q2 only; off_focus pays 1.00 wherever the focus is not
    # the year 2025 (k1 in every quarter, k3 too: an empty Period is no period, != holds),
    # nothing to k2; literal pays 10.00 to k1 in every quarter
    checked, tables = write_case(tmp_path, LOOKUP, {
        "people": ["payee_id", "k1", "k2", "k3"],
        "extra": ["payee_id,focus", "k1,2025-Q2", "k2,2025", "k3,"], "sales": SALES})
    want, got = both(checked, tables)
    assert got == want
    for line in ("k1,2025-Q2,on_focus,100.00,EUR", "k1,2025-Q1,on_focus,0.00,EUR", "k1,2025-Q1,off_focus,1.00,EUR",
                 "k2,2025-Q1,off_focus,0.00,EUR", "k3,2025-Q1,off_focus,1.00,EUR", "k1,2025-Q3,literal,10.00,EUR"):
        assert line in want, line


def test_a_missing_key_stops_both_engines(tmp_path):
    checked, tables = write_case(tmp_path, LOOKUP, {
        "people": ["payee_id", "k1", "k2"], "extra": ["payee_id,focus", "k1,2025-Q2"], "sales": SALES})
    want, got = both(checked, tables)
    assert want.startswith("the interpreter stops: KR405") and got is None
