"""A quotient of exact values rounded on whole numbers (values.ratio_round, used when
values.ratio_fits holds on the frame: Frame.exact_rounding), against the interpreter's
arithmetic (core.numeric.compute, then quantize: an 80-digit quotient snapped to 16 places)
on generated numerators and divisors (integer literals, data with places, a quotient divided
again), every rounding mode, values on the half-way points of the step and quotients with
17 and more decimals; and whole plans against the interpreter."""
from __future__ import annotations

from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from constructs_helpers import both, write_case  # noqa: E402
from kamrules.backends.polars.values import DEC, ratio_fits, ratio_limits, ratio_round  # noqa: E402
from kamrules.core.numeric import ROUNDING_MODES, compute, quantize  # noqa: E402

MODES = sorted(ROUNDING_MODES)
STEPS = [Decimal("0.01"), Decimal("1"), Decimal("0.05"), Decimal("0.001"), Decimal("0.25"), Decimal("100")]


def _decimal(units: int, places: int) -> Decimal:
    return Decimal(units).scaleb(-places)


def _rounds(rows: list, pn: int, pds: list, step: Decimal, mode: str):
    """(ratio_round's values, or None when ratio_fits refuses the column, the interpreter's
    values) of rows (numerator, divisor, ...) with these places; numerators and quotients past
    the columns' range (10^13) left out."""
    want, kept = [], []
    for x, *ds in rows:
        v = x
        for d in ds:
            v = compute("/", v, d)
        if abs(v) < Decimal("1e13") and abs(x) < Decimal("1e13"):
            kept.append((x, *ds))
            want.append(quantize(v, step, mode))
    names = ["n"] + [f"d{i}" for i in range(len(pds))]
    df = pl.DataFrame([list(r) for r in kept], schema={c: DEC for c in names}, orient="row")
    ratio = (pl.col("n"), pn, tuple((pl.col(f"d{i}"), p) for i, p in enumerate(pds)))
    maxima = list(df.select(*[e.max().alias(str(i)) for i, e in enumerate(ratio_limits(ratio))]).row(0))
    if not ratio_fits(ratio, maxima, step):
        return None, want
    return df.select(ratio_round(ratio, step, mode).alias("r"))["r"].to_list(), want


@settings(max_examples=40, deadline=None)
@given(pn=st.integers(0, 12), pds=st.lists(st.integers(0, 4), min_size=1, max_size=2),
       rows=st.lists(st.tuples(st.integers(-10 ** 14, 10 ** 14), st.integers(-10 ** 6, 10 ** 6).filter(bool),
                               st.integers(-10 ** 4, 10 ** 4).filter(bool)), min_size=1, max_size=30),
       step=st.sampled_from(STEPS), mode=st.sampled_from(MODES))
def test_a_rounded_quotient_is_the_interpreters(pn, pds, rows, step, mode):
    rows = [(_decimal(n, pn), *(_decimal(d, p) for d, p in zip((d1, d2), pds))) for n, d1, d2 in rows]
    got, want = _rounds(rows, pn, pds, step, mode)
    assert got is None or got == want


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(-10 ** 9, 10 ** 9), st.integers(-3, 3)), min_size=1, max_size=30),
       d=st.integers(-10 ** 5, 10 ** 5).filter(bool), pd=st.integers(0, 3), places=st.integers(0, 12),
       step=st.sampled_from(STEPS), mode=st.sampled_from(MODES))
def test_quotients_at_and_next_to_half_way_points(rows, d, pd, places, step, mode):
    """Numerators whose quotient lies on a half-way point of the step (units + 1/2 steps),
    or a few units of the numerator's last place away from it: the interpreter snaps the
    latter to 16 places, which must not move them onto the point."""
    dv = _decimal(d, pd)
    xs = [(Decimal(u) + Decimal("0.5")) * step * dv + _decimal(near, places) for u, near in rows]
    pn = max([places] + [-x.as_tuple().exponent for x in xs])
    got, want = _rounds([(x, dv) for x in xs], pn, [pd], step, mode)
    assert got is None or got == want
    if pn <= 6 and abs(d) < 10 ** 4:  # within the bound: decided on the columns
        assert got is not None


def test_seventeen_and_more_decimals():
    # 1 / 3 = 0.333... (80 digits, snapped to 16 places): no rounding point is within reach
    for mode in MODES:
        got, want = _rounds([(Decimal(1), Decimal(3)), (Decimal(-2), Decimal(3))], 0, [0], Decimal("0.01"), mode)
        assert got == want
    # 10^-12 / 7 has more than 17 decimals, 0.000000000000142857...; rounded to 10^-3
    got, want = _rounds([(Decimal("1e-12"), Decimal(7))], 12, [0], Decimal("0.001"), "up")
    assert got == want == [Decimal("0.001")]


def test_beyond_the_snap_the_columns_are_not_trusted():
    # 10^-12 / 999999.9999 (divisor of 4 places): the quotient's distance to a point of the
    # rounding may be under 10^-16, where the interpreter's snap decides: refused
    got, _ = _rounds([(Decimal("1e-12"), Decimal("999999.9999"))], 12, [4], Decimal("0.01"), "down")
    assert got is None


PLAN = """plan "ratios"
version "1"
currency EUR
period month
payees people
round components to cent {mode}

input people key payee_id {{
  payee_id: Text
  target: Number
  pay: Money
}}
input sales {{
  payee_id: Text
  date: Date
  amount: Money
}}

let sold = sum(amount for sales where payee_id == payee.id and date in period)
let growth = (sold - payee.pay) / payee.pay
let att = round(growth / payee.target, 1%, {mode})
let monthly = round(sold * 7 / 12, cent, {mode})
component c = payee.pay * att / 12
component d = monthly / 3
"""

MONEY_CENTS = st.integers(-10 ** 8, 10 ** 8)


@settings(max_examples=10, deadline=None)
@given(people=st.lists(st.tuples(st.integers(-10 ** 4, 10 ** 4), MONEY_CENTS), min_size=1, max_size=4),
       sales=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 2), MONEY_CENTS), min_size=1, max_size=6),
       mode=st.sampled_from(MODES))
def test_plans_with_quotients_give_the_interpreters_payouts(tmp_path_factory, people, sales, mode):
    """Quotients by literals, by data, a quotient divided again (a definition), as roundings
    and as components; zero divisors (the interpreter stops) and empty months included."""
    tmp = tmp_path_factory.mktemp("ratio")
    files = {
        "people": ["payee_id,target,pay"] + [f"p{i},{t / 100:.2f},{c / 100:.2f}" for i, (t, c) in enumerate(people)],
        "sales": ["payee_id,date,amount"] + [f"p{p},2025-0{m}-10,{c / 100:.2f}" for p, m, c in sales],
    }
    checked, tables = write_case(tmp, PLAN.format(mode=mode), files)
    want, got = both(checked, tables)
    assert got == want or got is None
