"""The payout CSV's rows placed without a sort (run/columnar.py `_with_totals`: a total after
each payee-period's last row, by a scatter and a running count) and its amounts taken as
they are when they are already cents (else rounded half up), against the rows laid out by
hand in Python, on amounts with a third place: payee-periods of one to three components,
none for some (tests/test_payout_csv_frame.py compares amounts in cents with the report's
own writer)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from kamrules.backends.polars.values import DEC, period_key  # noqa: E402
from kamrules.core.calendar import Period  # noqa: E402
from kamrules.run.columnar import to_csv  # noqa: E402

PERIODS = [Period(dt.date(2025, m, 1), "month", 1) for m in (1, 2)]
SCHEMA = {"payee_id": pl.String, "period": pl.String, "__o": pl.UInt32, "__c": pl.Int32, "amount": DEC}


@st.composite
def tables(draw):
    """A payout table as engine._payouts makes it (sorted by (__o, __c)), amounts in
    thousandths: a half cent rounds away from zero, a whole cent is kept as it is."""
    rows, o = [], 0
    for p in sorted(set(draw(st.lists(st.sampled_from(["p1", "p2", "p3"]), max_size=3)))):
        for per in PERIODS:
            for c in sorted(draw(st.lists(st.integers(0, 2), max_size=3, unique=True))):
                rows.append((p, period_key(per), o, c, Decimal(draw(st.integers(-10**6, 10**6))).scaleb(-3)))
            o += 1
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def _by_hand(table) -> list:
    """The rows as the report lays them out, computed in Python: each payee-period's
    components, then its total (of the exact amounts); every amount to the cent, half away
    from zero (money.format_amount's rule)."""
    from decimal import ROUND_HALF_UP
    names = ["a", "b", "c", "total"]
    out, run = [], []
    rows = table.rows()
    for i, (payee, period, o, c, amount) in enumerate(rows):
        run.append((payee, period, names[c], amount))
        if i + 1 == len(rows) or rows[i + 1][2] != o:
            run.append((payee, period, "total", sum((r[3] for r in run), Decimal(0))))
            out += run
            run = []
    cent = Decimal("0.01")
    return [(p, per[6:13], n, str(v.quantize(cent, ROUND_HALF_UP))) for p, per, n, v in out]


class Plan:
    components, currency = ["a", "b", "c"], "EUR"


@settings(max_examples=60, deadline=None)
@given(tables())
def test_rows_placed_without_a_sort_are_the_rows_by_hand(table):
    lines = to_csv(Plan, table, PERIODS).splitlines()
    assert lines[0] == "payee_id,period,component,amount,currency"
    assert [tuple(line.split(",")) for line in lines[1:]] == [r + ("EUR",) for r in _by_hand(table)]


def test_a_run_of_one_row_and_a_half_cent():
    # p1 has one component (a = 0.005 -> 0.01, total 0.01); p2 two (b = 1.00, c = -0.015 ->
    # -0.02; total -0.015+1.00 = 0.985 -> 0.99): totals from the exact amounts, then rounded
    table = pl.DataFrame([("p1", period_key(PERIODS[0]), 0, 0, Decimal("0.005")),
                          ("p2", period_key(PERIODS[0]), 2, 1, Decimal("1.00")),
                          ("p2", period_key(PERIODS[0]), 2, 2, Decimal("-0.015"))], schema=SCHEMA, orient="row")
    assert to_csv(Plan, table, PERIODS).splitlines()[1:] == [
        "p1,2025-01,a,0.01,EUR", "p1,2025-01,total,0.01,EUR",
        "p2,2025-01,b,1.00,EUR", "p2,2025-01,c,-0.02,EUR", "p2,2025-01,total,0.99,EUR"]
