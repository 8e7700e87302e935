"""Decimal places the columnar engine knows without a check per row (values.data_places,
Col.places through payee and table columns, sums, choices, roundings and definitions), and
`round(x, 10^-k, down)` as polars' truncate: against Python's decimal module and against the
interpreter on generated data whose products pass 24 places (the interpreter's to compute:
the columnar run must hand those payees over, never print a rounded product)."""
from __future__ import annotations

from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from constructs_helpers import both, write_case  # noqa: E402
from kamrules.backends.polars.values import DEC, data_places, round_expr  # noqa: E402
from kamrules.core.numeric import places_of  # noqa: E402
from kamrules.core.numeric import quantize  # noqa: E402


def _places(d: Decimal) -> int:
    """d's places, trailing zeros aside (no context: its 28 digits would round d)."""
    digits, exp = list(d.as_tuple().digits), d.as_tuple().exponent
    if not any(digits):
        return 0
    while exp < 0 and digits and digits[-1] == 0:
        digits.pop()
        exp += 1
    return max(0, -exp)


def test_places_of_a_long_literal():
    # 14 + 18 = 32 digits: normalized in the default context (28), 4 places would be lost
    assert places_of(Decimal("12345678901234.123456789012345678")) == 18


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.decimals(min_value=Decimal("-1e13"), max_value=Decimal("1e13"),
                                                 places=24, allow_nan=False, allow_infinity=False)),
                max_size=6))
def test_data_places_bounds_every_value(values):
    k = data_places(pl.Series(values, dtype=DEC))
    most = max((_places(v) for v in values if v is not None), default=0)
    assert k is not None and most <= k  # an upper bound ...
    assert k in (0, 2, 3, 4, 6, 8, 12, 16, 24) and all(
        most > smaller for smaller in (0, 2, 3, 4, 6, 8, 12, 16, 24) if smaller < k)  # ... the least of the few


def test_data_places_of_other_columns():
    assert data_places(pl.Series([1, 2], dtype=pl.Int64)) == 0
    assert data_places(pl.Series(["1.5"])) is None


@settings(max_examples=200, deadline=None)
@given(x=st.decimals(min_value=Decimal("-1e13"), max_value=Decimal("1e13"), places=24,
                     allow_nan=False, allow_infinity=False),
       k=st.integers(0, 24))
def test_rounding_down_at_a_power_of_ten_is_the_interpreters(x, k):
    step = Decimal(1).scaleb(-k)
    got = pl.DataFrame({"x": [x]}, schema={"x": DEC}).select(round_expr(pl.col("x"), step, "down")).item()
    assert got == quantize(x, step, "down")


PLAN = """plan "places"
version "1"
currency EUR
period month
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
  x: Number
  y: Number
  pay: Money
}
input sales {
  payee_id: Text
  date: Date
  amount: Money
  rate: Number
}

let sold = sum(amount * rate for sales where payee_id == payee.id and date in period)
let att = round(sold / payee.pay * payee.y, 1%, down)
curve r(a: Number) -> Number {
  | < 1      | 0                |
  | >= 1     | 0.5 + 2.5 * (a - 1) |
}
let both = payee.x * payee.y
component c = payee.pay * r(att) * 0.7 / 12
component d = money(round(both * payee.x * 0.3, cent, down)) + sold
"""

NUM = st.decimals(min_value=Decimal("-999"), max_value=Decimal("999"), places=12,
                  allow_nan=False, allow_infinity=False)


@settings(max_examples=12, deadline=None)
@given(people=st.lists(st.tuples(NUM, NUM, st.integers(1, 10**7)), min_size=1, max_size=4),
       sales=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 2), st.integers(-10**6, 10**6), NUM),
                      min_size=1, max_size=6))
def test_products_past_24_places_are_the_interpreters(tmp_path_factory, people, sales):
    """x and y of up to 12 places: x * y * x * 0.3 may need 37 places, amount * rate 14; the
    places the columnar engine reads on the data decide which products it checks per row."""
    tmp = tmp_path_factory.mktemp("places")
    files = {
        "people": ["payee_id,x,y,pay"] + [f"p{i},{x:f},{y:f},{c / 100:.2f}" for i, (x, y, c) in enumerate(people)],
        "sales": ["payee_id,date,amount,rate"] + [f"p{p},2025-0{m}-10,{c / 100:.2f},{r:f}"
                                                  for p, m, c, r in sales],
    }
    checked, tables = write_case(tmp, PLAN, files)
    want, got = both(checked, tables)
    assert got == want or got is None
