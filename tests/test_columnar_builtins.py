"""The columnar translations of team_total(), share(), one(rows), fx(), prorate() and
`require` rules against the interpreter: the plans that use them run columnar (no hand-over)
and print the interpreter's payouts byte for byte, on their cases and on generated data
(ties in share, payees without a weight, a rate exactly on the day, an empty team); data the
interpreter stops on makes the columnar run hand over (Fallback), never print a number."""
from __future__ import annotations

import datetime as dt

import pytest

pl = pytest.importorskip("polars")

from hypothesis import HealthCheck, event, given, settings, strategies as st  # noqa: E402

from conftest import PLANS, ROOT, examples  # noqa: E402
from constructs_helpers import both, write_plan  # noqa: E402
from kamrules.backends.polars.engine import check_supported  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.data.strict import load_data  # noqa: E402
from kamrules.diagnostics.diagnostic import KamError  # noqa: E402
from kamrules.backends.interp import plan_periods  # noqa: E402

NOW_COLUMNAR = ["team-bonus", "pharma-rire", "fx-commission", "prorated-variable", "split-credit"]
SETTINGS = dict(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("stem", NOW_COLUMNAR)
def test_the_plan_runs_columnar_with_the_interpreter_payouts(stem):
    checked = load(PLANS / f"{stem}.kam")[0]
    assert check_supported(checked) is None
    compared = 0
    for folder in sorted(p for p in (PLANS / "tests" / stem).glob("*/") if (p / "people.csv").exists()):
        want, got = both(checked, load_data(checked, str(folder)))
        if got is not None:
            assert got == want, folder
            compared += 1
    assert compared >= 1


def _case(tmp_path, plan_text: str, files: dict):
    checked, data = write_plan(tmp_path, plan_text, files)
    try:
        tables = load_data(checked, str(data))
        plan_periods(checked, tables)
    except KamError:
        event("no period")
        return
    want, got = both(checked, tables)
    event("compared" if got is not None else want)
    if got is not None:
        assert got == want


HEAD = 'plan "t"\ncurrency EUR\nperiod quarter\npayees people\n'
DEALS = "input deals { deal_id: Text  payee_id: Text  amount: Money  close_date: Date }\n"
ids = st.sampled_from(["a", "b", "c", "d", "e"])
days = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2025, 6, 30))
money = st.decimals(min_value=-200, max_value=3000, places=2)
deals_st = st.lists(st.tuples(ids, money, days), min_size=1, max_size=15)


def _deals(deals):
    return ["deal_id,payee_id,amount,close_date"] + [f"d{i},{p},{a},{d}" for i, (p, a, d) in enumerate(deals)]


# ---------------------------------------------------------------- team_total
TEAM = HEAD + """input people key payee_id { payee_id: Text  team: optional Text  active: Bool }
""" + DEALS + """eligible when payee.active
let bookings = sum(amount for deals where payee_id == payee.id and close_date in period)
let team_bookings = team_total(bookings)
component bonus = if team_bookings >= 1000 EUR then round(team_total(bookings / 3), cent, half_up) else 0 EUR
component own = bookings * 1%
"""


@settings(**SETTINGS)
@given(people=st.lists(st.tuples(ids, st.sampled_from(["", "t1", "t2"]), st.booleans()),
                       min_size=1, max_size=5, unique_by=lambda t: t[0]), deals=deals_st)
def test_team_total_on_generated_teams(tmp_path, people, deals):
    """An empty team value is a team of its own; members not eligible take no part."""
    _case(tmp_path, TEAM, {"people": ["payee_id,team,active"] + [f"{p},{t},{str(a).lower()}" for p, t, a in people],
                           "deals": _deals(deals)})


# ---------------------------------------------------------------- share
SHARE = HEAD + """input people key payee_id { payee_id: Text  weight: optional Number  cap: Money  active: Bool }
""" + DEALS + """eligible when payee.active and exists(deals where payee_id == payee.id and close_date in period)
component pool = share(100.00 EUR, payee.weight)
component thirds = share(77.77 EUR, default(payee.weight, 0) / 3)
component deals_pool = share(round(sum(amount for deals where close_date in period), cent, half_up), payee.weight)
component own_cap = if payee.cap > 0 EUR then share(payee.cap, 1) else 0 EUR
"""


@settings(**SETTINGS)
@given(people=st.lists(st.tuples(ids, st.sampled_from(["", "1", "1", "2", "0", "-1", "0.5", "3"]),
                                 st.sampled_from(["0", "10.01", "10.01", "7"]), st.booleans()),
                       min_size=1, max_size=5, unique_by=lambda t: t[0]), deals=deals_st)
def test_share_on_generated_pools(tmp_path, people, deals):
    """Ties in weight (broken by payee id), payees with no weight or a weight <= 0, and a
    pool whose total differs between payees (KR416: the interpreter's to say)."""
    _case(tmp_path, SHARE, {"people": ["payee_id,weight,cap,active"]
                            + [f"{p},{w},{c},{str(a).lower()}" for p, w, c, a in people],
                            "deals": _deals(deals)})


# ---------------------------------------------------------------- fx
FX = HEAD + """input people key payee_id { payee_id: Text }
input deals { deal_id: Text  payee_id: Text  amount: Money[USD]  close_date: Date }
input fx_rates { date: Date  from: Text  to: Text  rate: Number }
component commission = sum(round(fx(amount, "EUR", close_date) * 4%, cent, half_up) for deals
  where payee_id == payee.id and close_date in period)
component raw = sum(fx(amount, "EUR", close_date) for deals where payee_id == payee.id and close_date in period)
"""
rate_days = st.sampled_from([dt.date(2024, 12, 31), dt.date(2025, 1, 15), dt.date(2025, 2, 1),
                             dt.date(2025, 3, 31), dt.date(2025, 4, 1)])


@settings(**SETTINGS)
@given(deals=st.lists(st.tuples(ids, money, st.one_of(rate_days, days)), min_size=1, max_size=12),
       rates=st.lists(st.tuples(rate_days, st.sampled_from(["USD", "GBP"]), st.sampled_from(["EUR", "CHF"]),
                                st.decimals(min_value="0.5", max_value="1.5", places=4)), max_size=8),
       base=st.sampled_from(["2024-12-31,USD,EUR,1.0834", "2024-12-31,USD,EUR,1.0834", ""]))
def test_fx_on_generated_rates(tmp_path, deals, rates, base):
    """A deal on a rate's day takes that rate; two rates on one day: the first row; no rate
    on or before the day: the interpreter's KR405."""
    _case(tmp_path, FX, {"people": ["payee_id", "a", "b", "c", "d", "e"], "deals": _deals(deals),
                         "fx_rates": ["date,from,to,rate"] + [base] * bool(base)
                         + [f"{d},{f},{t},{r}" for d, f, t, r in rates]})


FX_PAYEE = """plan "t"
currency payee.pay
period quarter
payees people
input people key payee_id { payee_id: Text  pay: Text }
input deals { deal_id: Text  payee_id: Text  amount: Money[USD]  close_date: Date }
input fx_rates { date: Date  from: Text  to: Text  rate: Number }
param threshold = 2000 EUR
let mine = deals where payee_id == payee.id and close_date in period
let in_eur = sum(fx(amount, "EUR", close_date) for mine)
component commission = sum(round(fx(amount * 4%, payee.pay, close_date), cent, half_up) for mine)
component bonus = if in_eur >= threshold then money(100) else money(0)
"""


@settings(**SETTINGS)
@given(deals=st.lists(st.tuples(ids, money, st.one_of(rate_days, days)), min_size=1, max_size=12),
       rates=st.lists(st.tuples(rate_days, st.sampled_from(["USD", "GBP"]), st.sampled_from(["EUR", "GBP"]),
                                st.decimals(min_value="0.5", max_value="1.5", places=4)), max_size=8),
       pays=st.lists(st.sampled_from(["EUR", "GBP", "USD"]), min_size=5, max_size=5))
def test_fx_to_a_fixed_currency_in_a_plan_paid_per_payee(tmp_path, deals, rates, pays):
    """A plan paid in each payee's currency converts to a fixed one (EUR) for a threshold: the
    columnar engine runs it (it handed it to the interpreter) with the interpreter's amounts;
    a day with two different rates or no rate: the interpreter's stop."""
    _case(tmp_path, FX_PAYEE, {"people": ["payee_id,pay"] + [f"{p},{c}" for p, c in zip("abcde", pays)],
                               "deals": _deals(deals),
                               "fx_rates": ["date,from,to,rate", "2024-12-31,USD,EUR,0.9", "2024-12-31,USD,GBP,0.8"]
                               + [f"{d},{f},{t},{r}" for d, f, t, r in rates]})


def test_fx_to_a_fixed_currency_runs_columnar():
    """The audit's multi-currency plan (tests/data/audit2/fx-asof): supported statically."""
    checked = load(ROOT / "tests" / "data" / "audit2" / "fx-asof" / "fx-asof.kam")[0]
    assert check_supported(checked) is None


# ---------------------------------------------------------------- prorate
PRORATE = HEAD + """input people key payee_id { payee_id: Text  base: Money  start_date: Date  end_date: optional Date }
""" + DEALS + """eligible when exists(deals where payee_id == payee.id and close_date in period)
let presence = prorate(payee.start_date, payee.end_date)
component variable = payee.base / 4 * presence
component rounded = round(payee.base * presence, cent, half_even)
component full = if presence >= 100% then 1 EUR else 0 EUR
"""
edges = st.one_of(st.dates(min_value=dt.date(2024, 11, 1), max_value=dt.date(2025, 8, 31)),
                  st.sampled_from([dt.date(2025, 1, 1), dt.date(2025, 3, 31), dt.date(2025, 4, 1),
                                   dt.date(2025, 6, 30)]))


@settings(**SETTINGS)
@given(people=st.lists(st.tuples(ids, money, edges, st.one_of(st.just(""), edges)),
                       min_size=1, max_size=5, unique_by=lambda t: t[0]), deals=deals_st)
def test_prorate_on_generated_dates(tmp_path, people, deals):
    """Both ends of the period count; a payee who leaves before joining is present 0 days."""
    _case(tmp_path, PRORATE, {"people": ["payee_id,base,start_date,end_date"]
                              + [f"{p},{b},{s},{e}" for p, b, s, e in people], "deals": _deals(deals)})


# ---------------------------------------------------------------- one(rows)
ONE = HEAD + """input people key payee_id { payee_id: Text  territory: Text }
input market { scope: Text  period: Period  a: Number  b: optional Number }
let t = one(market where scope == payee.territory and market.period == period)
let fr = one(market where scope == "FR" and market.period == period)
component c = round(money(default(t.b, 0) - t.a) * 100 / fr.a, cent, half_up)
component n = if present(t.b) then 1 EUR else 0 EUR
"""


@settings(**SETTINGS)
@given(people=st.lists(st.tuples(ids, st.sampled_from(["x", "y", "z"])), min_size=1, max_size=4,
                       unique_by=lambda t: t[0]),
       counts=st.lists(st.sampled_from([1, 1, 1, 1, 1, 0, 2]), min_size=8, max_size=8),
       values=st.lists(st.tuples(st.sampled_from(["1", "2.5", "3", "0.7"]), st.sampled_from(["", "4", "1.25"])),
                       min_size=16, max_size=16))
def test_one_row_on_generated_tables(tmp_path, people, counts, values):
    """No row or two rows for a payee-period: the interpreter's KR405; an empty column of
    the one row is empty."""
    keys = [(s, p) for s in ("x", "y", "z", "FR") for p in ("2025-Q1", "2025-Q2")]
    market = [f"{s},{p},{a},{b}" for (s, p), n, k in zip(keys, counts, range(0, 16, 2))
              for a, b in values[k:k + n]]
    _case(tmp_path, ONE, {"people": ["payee_id,territory"] + [f"{p},{t}" for p, t in people],
                          "market": ["scope,period,a,b"] + market})


# ---------------------------------------------------------------- require
REQUIRE = HEAD + """input people key payee_id { payee_id: Text }
input deals key deal_id { deal_id: Text  amount: Money  close_date: Date }
input splits { deal_id: Text references deals  payee_id: Text references people  share: Rate  overlay: Bool }
require every deals:
  sum(share for splits where splits.deal_id == deals.deal_id and not overlay) == 100%
  else "primary lines total 100%"
require every splits: share > 0% and share <= 100%
component c = sum(round(deals[deal_id].amount * share * 6%, cent, half_up) for splits
  where payee_id == payee.id and deals[deal_id].close_date in period)
"""
patterns = st.sampled_from([["100%"], ["50%", "50%"], ["25%", "75%"], ["30%", "70%"], ["90%"], ["40%", "60%", "0%"]])


@settings(**SETTINGS)
@given(deals=st.lists(st.tuples(money, days, patterns, st.booleans()), min_size=1, max_size=6),
       owners=st.lists(ids, min_size=4, max_size=4))
def test_require_on_generated_splits(tmp_path, deals, owners):
    """Rows that break a rule make the interpreter stop (KR410 on the row) and the
    columnar run hand over; rows that keep them give the same payouts."""
    split_rows = ["deal_id,payee_id,share,overlay"]
    for i, (_, _, shares, overlay) in enumerate(deals):
        split_rows += [f"d{i},{owners[k]},{s},false" for k, s in enumerate(shares)]
        if overlay:
            split_rows.append(f"d{i},{owners[3]},10%,true")
    _case(tmp_path, REQUIRE, {"people": ["payee_id", "a", "b", "c", "d", "e"],
                              "deals": ["deal_id,amount,close_date"] + [f"d{i},{a},{d}" for i, (a, d, _, _) in enumerate(deals)],
                              "splits": split_rows})
