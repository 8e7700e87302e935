"""values.ratio_round in Int64 (values.ratio_width: every whole number below 2^61 on the
frame's values) and with constant divisors folded (`x / 12`: no per-row test of the divisor's
sign), against the interpreter's arithmetic (core.numeric.compute then quantize), every
rounding mode, on generated numerators, including values on the half-way points."""
from __future__ import annotations

from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from kamrules.backends.polars.values import (DEC, dec, ratio_fits, ratio_limits, ratio_round,  # noqa: E402
                                             ratio_width)
from kamrules.core.numeric import ROUNDING_MODES, compute, quantize  # noqa: E402

MODES = sorted(ROUNDING_MODES)
STEPS = [Decimal("0.01"), Decimal("1"), Decimal("0.05"), Decimal("0.001")]


def _round(df, ratio, step, mode):
    maxima = list(df.select(*[e.max().alias(str(i)) for i, e in enumerate(ratio_limits(ratio))]).row(0))
    assert ratio_fits(ratio, maxima, step)
    width = ratio_width(ratio, maxima, step)
    return width, df.select(ratio_round(ratio, step, mode, width).alias("r"))["r"].to_list()


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(-10 ** 9, 10 ** 9), st.integers(-10 ** 4, 10 ** 4).filter(bool)),
                     min_size=1, max_size=30),
       step=st.sampled_from(STEPS), mode=st.sampled_from(MODES))
def test_int64_column_divisor(rows, step, mode):
    # numerator with 2 places, divisor with 1: whole numbers far below 2^61 -> Int64
    data = [(Decimal(n).scaleb(-2), Decimal(d).scaleb(-1)) for n, d in rows]
    df = pl.DataFrame([list(r) for r in data], schema={"n": DEC, "d": DEC}, orient="row")
    width, got = _round(df, (pl.col("n"), 2, ((pl.col("d"), 1),)), step, mode)
    assert width == pl.Int64
    assert got == [quantize(compute("/", n, d), step, mode) for n, d in data]


@settings(max_examples=60, deadline=None)
@given(units=st.lists(st.integers(-10 ** 12, 10 ** 12), min_size=1, max_size=30),
       divisor=st.sampled_from([12, -12, 7, 3, 1, -1, 400]),
       step=st.sampled_from(STEPS), mode=st.sampled_from(MODES))
def test_constant_divisor(units, divisor, step, mode):
    # x / 12 with x at 2 places: half-way points of a cent are reached (x = 0.06 -> 0.005)
    data = [Decimal(u).scaleb(-2) for u in units]
    df = pl.DataFrame({"n": data}, schema={"n": DEC})
    ratio = (pl.col("n"), 2, ((dec(divisor), 0),))
    _, got = _round(df, ratio, step, mode)
    assert got == [quantize(compute("/", x, Decimal(divisor)), step, mode) for x in data]


def test_half_cent_ties_by_hand():
    # 0.06 / 12 = 0.005 exactly: half_up 0.01, half_down 0.00, half_even 0.00 (0 is even);
    # -0.18 / 12 = -0.015: half_up (away from zero) -0.02, half_even -0.02
    df = pl.DataFrame({"n": [Decimal("0.06"), Decimal("-0.18")]}, schema={"n": DEC})
    ratio = (pl.col("n"), 2, ((dec(12), 0),))
    got = {m: _round(df, ratio, Decimal("0.01"), m)[1] for m in ("half_up", "half_down", "half_even")}
    assert got == {"half_up": [Decimal("0.01"), Decimal("-0.02")],
                   "half_down": [Decimal("0.00"), Decimal("-0.01")],
                   "half_even": [Decimal("0.00"), Decimal("-0.02")]}


def test_wide_values_stay_int128():
    # 10^12 at 2 places is the whole number 10^14; to 10^-8 it is counted in 10^-8ths:
    # n = 10^14 x 10^6 = 10^20, past 2^61 (2.3 x 10^18): Int128; to the cent n = 10^14: Int64
    df = pl.DataFrame({"n": [Decimal(10) ** 12], "d": [Decimal(3)]}, schema={"n": DEC, "d": DEC})
    ratio = (pl.col("n"), 2, ((pl.col("d"), 0),))
    maxima = list(df.select(*[e.max().alias(str(i)) for i, e in enumerate(ratio_limits(ratio))]).row(0))
    assert ratio_width(ratio, maxima, Decimal("0.00000001")) == pl.Int128
    assert ratio_width(ratio, maxima, Decimal("0.01")) == pl.Int64
