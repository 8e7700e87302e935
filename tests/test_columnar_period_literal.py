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
