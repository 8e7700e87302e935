"""Pools per group (issue 17 item 1): `share(total, weight, by EXPR)` and `team_total(x, by
EXPR)` split the eligible payees of a period by the value of EXPR; the total is one value
within a pool (KR416 names the pool); cents go by largest remainder within each pool. Both
engines print the same bytes; amounts below are computed by hand."""
from __future__ import annotations

import pytest

pytest.importorskip("polars")

from constructs_helpers import amounts as _amounts, both, write_case  # noqa: E402
from kamrules.check.checker import check  # noqa: E402
from kamrules.diagnostics.source import SourceFile  # noqa: E402
from kamrules.syntax.fmt import format_text  # noqa: E402
from kamrules.syntax.parser import parse  # noqa: E402

PLAN = '''plan "t"
currency EUR
period quarter
payees people
input people key payee_id { payee_id: Text  team: Text  region: Text  w: Number }
input pools key team { team: Text  amount: Money }
input deals { deal_id: Text  payee_id: Text  close_date: Date }
let team_pool = pools[payee.team].amount
let quarter_deals = count(deals where close_date in period)  # places the data in 2025-Q1
component bonus = share(team_pool, payee.w, by payee.team)
component regional = money(team_total(payee.w, by payee.region))
component legacy = money(team_total(payee.w))
'''
PEOPLE = ["payee_id,team,region,w", "a,x,n,1", "b,x,s,2", "c,x,n,3", "d,y,s,4", "e,y,n,5"]
POOLS = ["team,amount", "x,100", "y,10"]
DEALS = ["deal_id,payee_id,close_date", "d1,a,2025-02-01"]  # the data's one period: 2025-Q1


def test_one_pool_per_team_cents_by_largest_remainder_within_each(tmp_path):
    checked, tables = write_case(tmp_path, PLAN, {"people": PEOPLE, "pools": POOLS, "deals": DEALS})
    want, got = both(checked, tables)
    assert got == want
    # team x: 100 EUR by 1:2:3 -> 16.666, 33.333, 50 -> floors 16.66 + 33.33 + 50.00 = 99.99,
    #   the cent to the largest remainder (a: .0066 > b: .0033)
    # team y: 10 EUR by 4:5 -> 4.444, 5.555 -> 4.44 + 5.55 = 9.99, the cent to e (.0055 > .0044)
    assert _amounts(want, "bonus") == {"a": "16.67", "b": "33.33", "c": "50.00", "d": "4.44", "e": "5.56"}
    # by region: n = a + c + e = 1 + 3 + 5 = 9; s = b + d = 2 + 4 = 6
    assert _amounts(want, "regional") == {"a": "9.00", "b": "6.00", "c": "9.00", "d": "6.00", "e": "9.00"}
    # without `by`: the payee's team, as before: x = 1 + 2 + 3, y = 4 + 5
    assert _amounts(want, "legacy") == {"a": "6.00", "b": "6.00", "c": "6.00", "d": "9.00", "e": "9.00"}


def test_an_ineligible_payee_is_in_no_pool(tmp_path):
    plan = PLAN + "eligible when payee.payee_id != \"c\"\n"
    checked, tables = write_case(tmp_path, plan, {"people": PEOPLE, "pools": POOLS, "deals": DEALS})
    want, got = both(checked, tables)
    assert got == want
    # team x without c: 100 EUR by 1:2 -> 33.333 + 66.666 -> 33.33 + 66.66, the cent to b (.0066)
    assert _amounts(want, "bonus") == {"a": "33.33", "b": "66.67", "d": "4.44", "e": "5.56"}
    # region n without c: a + e = 6
    assert _amounts(want, "regional")["a"] == "6.00"


def test_a_total_that_differs_within_a_pool_stops_naming_the_pool(tmp_path):
    plan = PLAN.replace("let team_pool = pools[payee.team].amount",
                        'let team_pool = if payee.team == "x" then money(payee.w) else 10 EUR')
    checked, tables = write_case(tmp_path, plan, {"people": PEOPLE, "pools": POOLS, "deals": DEALS})
    want, got = both(checked, tables)
    assert want == "the interpreter stops: KR416" and got is None
    from kamrules.backends.interp import plan_periods
    from kamrules.backends.interp.run import evaluate
    from kamrules.diagnostics.diagnostic import KamError
    with pytest.raises(KamError) as err:
        evaluate(checked, tables, plan_periods(checked, tables), trace=False)
    assert '(pool "x")' in err.value.diagnostics[0].message or "(pool x)" in err.value.diagnostics[0].message


def test_a_total_that_differs_between_pools_is_fine(tmp_path):
    # one total per team (100 and 10 EUR) was KR416 without `by`: one pool per period
    plan = PLAN.replace(", by payee.team)", ")")
    checked, tables = write_case(tmp_path, plan, {"people": PEOPLE, "pools": POOLS, "deals": DEALS})
    want, got = both(checked, tables)
    assert want == "the interpreter stops: KR416"


def _codes(text):
    _, diags = check(parse(text, "t.kam"), SourceFile("t.kam", text))
    return [d.code for d in diags if d.is_error]


@pytest.mark.parametrize("line, code", [
    ("component z = abs(by payee.team)", "KR206"),            # `by` only in share/team_total
    ("component z = share(10 EUR, 1, by payee.w * 1 EUR)", "KR201"),  # a pool is not named by money
    ("component z = sum(share(10 EUR, 1, by team) for deals)", "KR206"),  # not inside a row
])
def test_by_is_checked(line, code):
    assert code in _codes(PLAN + line + "\n")


def test_by_round_trips_through_the_formatter():
    tree = parse(PLAN, "t.kam")
    again = format_text(PLAN, "t.kam")
    assert "share(team_pool, payee.w, by payee.team)" in again
    assert parse(again, "t.kam") == tree
