"""avg, min and max over no rows are empty (issue 17 item 5): `default(...)` then applies,
on both engines, with the same bytes; an empty result used in a calculation still stops
(KR406) as any empty value does."""
from __future__ import annotations

import pytest

pytest.importorskip("polars")

from constructs_helpers import amounts, both, write_case  # noqa: E402

PLAN = '''plan "t"
currency EUR
period quarter
payees people
input people key payee_id { payee_id: Text  name: Text }
input deals { deal_id: Text  payee_id: Text  amount: Money  close_date: Date }
let mine = deals where payee_id == payee.id and close_date in period
component avg_deal = default(avg(amount for mine), 0 EUR)
component biggest = default(max(amount for mine), 1 EUR)
component smallest = default(min(amount for mine), 2 EUR)
'''
PEOPLE = ["payee_id,name", "a,Ann", "b,Bob"]
# a: 100 + 200 in Q1 (avg 150, max 200, min 100); b: nothing in Q1
DEALS = ["deal_id,payee_id,amount,close_date", "d1,a,100,2025-01-10", "d2,a,200,2025-02-10"]


def _payout(csv: str, payee: str, component: str) -> str:
    return amounts(csv, component)[payee]


def test_avg_min_max_over_no_rows_are_empty_then_default_applies(tmp_path):
    checked, tables = write_case(tmp_path, PLAN, {"people": PEOPLE, "deals": DEALS})
    want, got = both(checked, tables)
    assert got == want
    assert [_payout(want, "a", c) for c in ("avg_deal", "biggest", "smallest")] == ["150.00", "200.00", "100.00"]
    assert [_payout(want, "b", c) for c in ("avg_deal", "biggest", "smallest")] == ["0.00", "1.00", "2.00"]


def test_an_empty_average_used_in_a_calculation_stops_on_both_engines(tmp_path):
    plan = PLAN.replace("default(avg(amount for mine), 0 EUR)", "avg(amount for mine) * 2")
    checked, tables = write_case(tmp_path, plan, {"people": PEOPLE, "deals": DEALS})
    want, got = both(checked, tables)
    assert want == "the interpreter stops: KR406" and got is None


def test_min_over_rows_whose_values_are_all_empty_is_empty(tmp_path):
    plan = PLAN.replace("amount: Money", "amount: optional Money").replace(
        "component avg_deal = default(avg(amount for mine), 0 EUR)\n", "")  # avg sums: KR406 on an empty amount
    deals = ["deal_id,payee_id,amount,close_date", "d1,a,,2025-01-10", "d2,b,50,2025-02-10"]
    checked, tables = write_case(tmp_path, plan, {"people": PEOPLE, "deals": deals})
    want, got = both(checked, tables)
    assert got == want
    assert _payout(want, "a", "smallest") == "2.00" and _payout(want, "b", "smallest") == "50.00"
