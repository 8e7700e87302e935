"""Unit tests of the two bottom layers: the calendar and exact money arithmetic."""
from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal as D

import pytest
from hypothesis import given, strategies as st

from kamrules.core.calendar import parse_period, period_of, periods_between, year_to_date
from kamrules.core.numeric import CONTEXT, format_amount, quantize


@pytest.mark.parametrize("label, start, end", [
    ("2025", "2025-01-01", "2025-12-31"),
    ("2025-Q1", "2025-01-01", "2025-03-31"),
    ("2025-Q4", "2025-10-01", "2025-12-31"),
    ("2024-02", "2024-02-01", "2024-02-29"),
])
def test_period_bounds(label, start, end):
    p = parse_period(label)
    assert (str(p.start), str(p.end), p.label) == (start, end, label)


def test_fiscal_year_starting_in_april():
    q1 = parse_period("2025-Q1", fiscal_start=4)
    assert (str(q1.start), str(q1.end)) == ("2025-04-01", "2025-06-30")
    assert period_of(dt.date(2026, 2, 10), "quarter", 4).label == "2025-Q4"
    assert period_of(dt.date(2026, 2, 10), "year", 4).label == "2025"
    assert parse_period("2026-03", 4).is_year_end and not parse_period("2025-12", 4).is_year_end


def test_quarter_of_a_month_and_months_of_a_quarter():
    march = parse_period("2025-03")
    assert march.containing("quarter").label == "2025-Q1" and march.is_quarter_end
    assert [m.label for m in parse_period("2025-Q2").subperiods("month")] == ["2025-04", "2025-05", "2025-06"]
    assert [p.label for p in periods_between(parse_period("2025-11"), parse_period("2026-02"))] == \
        ["2025-11", "2025-12", "2026-01", "2026-02"]
    ytd = year_to_date(parse_period("2025-Q3"))
    assert ytd.label == "2025-Q1..2025-Q3" and ytd.contains_date(dt.date(2025, 1, 1))


@pytest.mark.parametrize("bad", ["2025-Q5", "2025-13", "25-Q1", "2025-1", ""])
def test_bad_period_labels(bad):
    with pytest.raises(ValueError):
        parse_period(bad)


@pytest.mark.parametrize("value, step, mode, expected", [
    ("2.675", "0.01", "half_up", "2.68"),
    ("-2.675", "0.01", "half_up", "-2.68"),      # half away from zero
    ("2.665", "0.01", "half_even", "2.66"),
    ("1.1047", "0.01", "down", "1.10"),          # attainment down to the whole percent
    ("-1.005", "0.01", "floor", "-1.01"),
    ("12.3", "5", "half_up", "10"),
    ("1.23", "0.05", "half_up", "1.25"),
])
def test_quantize_modes(value, step, mode, expected):
    assert quantize(D(value), D(step), mode) == D(expected)


def test_format_amount_never_prints_minus_zero():
    assert format_amount(D("-0.001")) == "0.00"
    assert format_amount(D("-1234.5")) == "-1234.50"


def test_float_never_reaches_money():
    with decimal.localcontext(CONTEXT):
        with pytest.raises(decimal.FloatOperation):
            D("1.0") < 0.1  # a float compared with money is trapped, not silently accepted


@given(st.decimals(min_value=-10**9, max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_rounding_to_cent_is_within_half_a_cent(x):
    r = quantize(x, D("0.01"), "half_up")
    assert abs(r - x) <= D("0.005") and r == r.quantize(D("0.01"))


def test_guard_digits_round_like_the_exact_value():
    with decimal.localcontext(CONTEXT):
        third = D(1) / D(3)
        tie = third * 3 - D("0.985")  # exactly 0.015, computed as 0.01499...9
        assert tie < D("0.015")
        assert quantize(tie, D("0.01"), "half_up") == D("0.02")
        assert quantize(third * 3, D("0.01"), "down") == D("1.00")  # 100%, not 99%
        v = D(48793) / 12 * D("1.2")  # 4879.3 exactly
        assert quantize(v, D("0.01"), "half_up") == D("4879.30")
    assert quantize(D("0.014999"), D("0.01"), "half_up") == D("0.01")  # real values untouched


def test_comparisons_see_the_exact_value(tmp_path):
    from conftest import run_cli
    (tmp_path / "people.csv").write_text("payee_id\np1\n")
    plan = tmp_path / "p.kam"
    plan.write_text('plan "snap"\ncurrency EUR\nperiod year\npayees people\n'
                    'input people key payee_id { payee_id: Text }\n'
                    'let a = 1 / 3 * 3\n'
                    'curve r(x: Number) -> Rate {\n  | < 1 | 0% |\n  | >= 1 | 100% |\n}\n'
                    'component c = 100 EUR * r(a) + (if a >= 1 then 1 EUR else 0 EUR)\n')
    res = run_cli("run", plan, "--data", tmp_path, "--period", "2025")
    assert res.returncode == 0, res.stderr
    assert "p1,2025,c,101.00,EUR" in res.stdout
