"""Limits as diagnostics (issue 13, items 7 and 14): huge amounts and literals, dates at the
end of the calendar, multiplication bombs, long let chains, large decision tables, wide
CSVs and a key that is not a column. Each gives a KR code and exit 1, never a traceback,
a RecursionError or a hang."""
from __future__ import annotations

import itertools
import os
import re
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from conftest import examples

from kamrules.syntax import ast

from kamrules.core import limits

from kamrules.check import tables

from kamrules.core import types as T
from kamrules.cli.main import main

HEAD = """plan "T"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text
  amount: Money
  close_date: Date
}
"""
SUM = "sum(amount for deals where owner_id == payee.id and close_date in period)"


def _files(tmp_path, plan_tail, amount="100.00", close="2025-01-10", extra_cols=0):
    plan = tmp_path / "plan.kam"
    plan.write_text(HEAD + plan_tail, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("payee_id\np1\n", encoding="utf-8")
    wide = "".join(f",unused{i}" for i in range(extra_cols))
    cells = "," * extra_cols
    (data / "deals.csv").write_text(f"deal_id,owner_id,amount,close_date{wide}\n"
                                    f"d1,p1,{amount},{close}{cells}\n"
                                    f"d2,p1,1.00,2025-02-10{cells}\n", encoding="utf-8")
    return str(plan), str(data)


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def _check(capsys, plan):
    return _run(capsys, "check", plan)


def _runs(capsys, plan, data, *extra):
    """Both engines, one process each way; the same exit code."""
    results = [_run(capsys, "run", plan, "--data", data, "-j", "1", "--engine", engine, *extra)
               for engine in ("interpreter", "columnar")]
    assert results[0][0] == results[1][0], results
    return results


# ------------------------------------------------------------ numbers
def test_component_beyond_the_supported_range_is_kr413_naming_payee_and_period(tmp_path, capsys):
    plan, data = _files(tmp_path, f"component c = {SUM} * 1000000\n", amount="999999999999999.00")
    assert _check(capsys, plan)[0] == 0
    for rc, out, err in _runs(capsys, plan, data):
        assert rc == 1 and out == ""
        assert "error[KR413]" in err and "payee p1" in err and "2025-Q1" in err
        assert "plan.kam:15" in err  # the component's line


def test_a_37_digit_amount_in_data_is_refused_without_traceback(tmp_path, capsys):
    plan, data = _files(tmp_path, f"component c = {SUM} * 3\n",
                        amount="1234567890123456789012345678901234567.00")
    for rc, out, err in _runs(capsys, plan, data):
        assert rc == 1 and out == ""
        assert "error[KR4" in err  # refused on load (KR403) or stopped in the computation (KR413)


def test_multiplication_bomb_checks_fast_and_runs_to_kr413(tmp_path, capsys):
    lets = "let x0 = 2\n" + "".join(f"let x{i} = x{i - 1} * x{i - 1}\n" for i in range(1, 41))
    plan, data = _files(tmp_path, lets + "component c = x40 * 1 EUR\n")
    start = time.perf_counter()
    assert _check(capsys, plan)[0] == 0
    assert time.perf_counter() - start < 30  # a hang guard, not a speed test: the old lint took > 60 s
    for rc, out, err in _runs(capsys, plan, data, "--period", "2025-Q1"):
        assert rc == 1 and "error[KR413]" in err and re.search(r"x(\d+) \* x\1", err)  # the first product past the range


@pytest.mark.parametrize("literal, what", [
    ("123456789012345678901234567890123456789", "39 digits before the point"),
    ("1234567890123456789 EUR", "19 digits before the point"),
    ("0.1234567890123", "13 digits after the point"),
    ("12.34567890123456%", "14 digits after the point"),
])
def test_plan_literal_outside_the_range_is_kr005(tmp_path, capsys, literal, what):
    plan, _ = _files(tmp_path, f"param p = {literal}\ncomponent c = {SUM} * 0 + 0 EUR\nlet q = p\n")
    rc, _, err = _check(capsys, plan)
    assert rc == 1 and "error[KR005]" in err and what in err and "plan.kam:15:11" in err


def test_literals_at_the_edge_of_the_range_check(tmp_path, capsys):
    plan, _ = _files(tmp_path, "param a = 999999999999999999.999999999999\nparam b = 12.3456789012%\n"
                     f"component c = {SUM} * a * b\n")
    assert _check(capsys, plan)[0] == 0


def test_zero_by_zero_is_still_kr407(tmp_path, capsys):
    plan, data = _files(tmp_path, f"component c = {SUM} * (0 / 0)\n")
    rc, _, err = _run(capsys, "run", plan, "--data", data, "--engine", "interpreter", "-j", "1")
    assert rc == 1 and "error[KR407]" in err


# ------------------------------------------------------------ dates
@pytest.mark.parametrize("literal", ["9999-12-31", "9999-Q4"])
def test_date_or_period_literal_past_the_calendar_is_kr005(tmp_path, capsys, literal):
    plan, _ = _files(tmp_path, f"component c = if {literal} == {literal} then {SUM} else 0 EUR\n")
    rc, _, err = _check(capsys, plan)
    assert rc == 1 and "error[KR005]" in err and "9998-12-31" in err


def test_date_past_the_calendar_in_data_is_kr403_on_both_engines(tmp_path, capsys):
    plan, data = _files(tmp_path, f"component c = {SUM} + (if period.end + 1 > 2025-01-01 then 0 EUR else 0 EUR)\n",
                        close="9999-12-31")
    for rc, out, err in _runs(capsys, plan, data):
        assert rc == 1 and out == ""
        assert "error[KR403]" in err and "deals.csv row 2, column `close_date`" in err


def test_last_supported_date_runs_and_day_arithmetic_past_it_is_kr413(tmp_path, capsys):
    plan, data = _files(tmp_path, f"component c = {SUM} + (if period.end + 1 > 2025-01-01 then 0 EUR else 0 EUR)\n",
                        close="9998-12-31")
    rc, out, err = _run(capsys, "run", plan, "--data", data, "--period", "9998-Q4", "-j", "1")
    assert rc == 0 and "p1,9998-Q4,c,100.00,EUR" in out
    (tmp_path / "b").mkdir()
    plan, data = _files(tmp_path / "b", f"component c = {SUM} + (if period.end + 5000000 > 2025-01-01 then 0 EUR else 0 EUR)\n")
    for rc, out, err in _runs(capsys, plan, data, "--period", "2025-Q1"):
        assert rc == 1 and "error[KR413]" in err and "period.end + 5000000" in err


# ------------------------------------------------------------ long chains and many definitions
def test_3000_chained_lets_check_and_run(tmp_path, capsys):
    lets = "let x0 = 2\n" + "".join(f"let x{i} = x{i - 1} + 1\n" for i in range(1, 3001))
    plan, data = _files(tmp_path, lets + "component c = x3000 * 1 EUR\n")
    assert _check(capsys, plan)[0] == 0
    rc, out, err = _run(capsys, "run", plan, "--data", data, "--period", "2025-Q1", "--engine", "interpreter", "-j", "1")
    assert rc == 0 and "p1,2025-Q1,c,3002.00,EUR" in out
    rc, out, err = _run(capsys, "explain", plan, "--data", data, "--period", "2025-Q1", "--payee", "p1")
    assert rc in (0, 1) and ("3,002.00" in out or "3002.00" in out or "error[KR007]" in err)


def test_more_definitions_than_the_limit_is_kr007(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DEFINITIONS", 5)
    lets = "".join(f"let x{i} = {i}\n" for i in range(8))
    plan, _ = _files(tmp_path, lets + "component c = x7 * 1 EUR\n")
    rc, _, err = _check(capsys, plan)
    assert rc == 1 and "error[KR007]" in err and "plan.kam:20" in err  # the 6th definition


# ------------------------------------------------------------ decision tables
def _table(n, gap_at=None):
    rows = "".join(f"  | {i} to < {i + 1} | {i % 7}% |\n" for i in range(n) if i != gap_at)
    return ("table t(n: Number) -> Rate {\n  | < 0 | 0% |\n" + rows + f"  | >= {n} | 1% |\n}}\n"
            f"component c = {SUM} * t(1)\n")


def test_5000_row_table_checks_in_seconds(tmp_path, capsys):
    plan, _ = _files(tmp_path, _table(5000))
    start = time.perf_counter()
    assert _check(capsys, plan)[0] == 0
    assert time.perf_counter() - start < 30  # a hang guard: the quadratic check took > 60 s (speed: bench/)


def test_sweep_finds_the_one_gap_of_a_large_table(tmp_path, capsys):
    plan, _ = _files(tmp_path, _table(3000, gap_at=1234))
    rc, _, err = _check(capsys, plan)
    assert rc == 1 and "error[KR301]: `t` has no row for n = 1234 (and 1 more point)" in err


def _naive(node, params):
    """The coverage check as it was (every point against every row): the reference."""
    rows = list(node.rows)
    consts = [[(tables.constant(c.lo) if c.lo is not None else None,
                tables.constant(c.hi) if c.hi is not None else None) for c in r.cells] for r in rows]
    axes = [tables._axis(consts, i) for i in range(len(params))]
    first_hits, gaps, overlap = [0] * len(rows), [], None
    for point in itertools.product(*axes):
        hits = [k for k, (r, vals) in enumerate(zip(rows, consts))
                if all(x is not None and tables.cell_matches(c, x, lo, hi) or c.kind == "any"
                       for c, x, (lo, hi) in zip(r.cells, point, vals))]
        if not hits:
            gaps.append(point)
        else:
            first_hits[hits[0]] += 1
            if len(hits) > 1 and overlap is None:
                overlap = (point, hits[:2])
    return gaps, overlap, [k for k, n in enumerate(first_hits) if n == 0]


_num = st.integers(-3, 3).map(lambda v: ast.Number(Decimal(v), str(v)))
_cell = st.one_of(
    st.just(ast.Cell("any")),
    _num.map(lambda v: ast.Cell("eq", None, v)),
    st.tuples(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _num).map(lambda t: ast.Cell("cmp", t[0], t[1])),
    st.tuples(_num, st.sampled_from(["<", "<="]), _num).map(lambda t: ast.Cell("range", t[1], t[0], t[2])),
)


@settings(max_examples=examples(150), deadline=None)
@given(st.integers(1, 2).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(*[_cell] * n), min_size=1, max_size=8),
    st.sampled_from(["unique", "first", "collect_sum"]))))
def test_sweep_and_bit_sets_agree_with_the_point_by_point_check(table):
    n, cells, hit = table
    rows = tuple(ast.DecisionRow(c, ast.Number(Decimal(1), "1")) for c in cells)
    params = {f"p{i}": T.NUMBER for i in range(n)}
    node = ast.Decision("table", "t", tuple((p, ast.TypeRef("Number")) for p in params), None, hit, rows)
    gaps, overlap, never = _naive(node, params)
    got = {d.code: d for d in tables.check_decision(node, params)}
    assert ("KR301" in got) == (bool(gaps) and hit != "collect_sum")
    if "KR301" in got:
        more = len(gaps) - 1
        assert got["KR301"].message.endswith(f"(and {more} more point{'s' * (more > 1)})" if more else "")
    assert ("KR302" in got) == (overlap is not None and hit == "unique")
    if "KR302" in got:
        assert f"rows {overlap[1][0] + 1} and {overlap[1][1] + 1} " in got["KR302"].message
    found = [d for d in tables.check_decision(node, params) if d.code == "KR303"]
    assert len(found) == (len(never) if hit == "first" else 0)


def test_table_rows_over_the_limit_is_kr005(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TABLE_ROWS", 50)
    plan, _ = _files(tmp_path, _table(60))
    rc, _, err = _check(capsys, plan)
    assert rc == 1 and "error[KR005]" in err and "`t` has 62 rows (at most 50)" in err


def test_multi_input_table_too_large_to_analyse_is_kr008(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TABLE_POINTS", 100)
    rows = "".join(f"  | {i} to < {i + 1} | {j} to < {j + 1} | 1% |\n" for i in range(12) for j in range(12))
    plan, _ = _files(tmp_path, "table t(a: Number, b: Number) -> Rate {\n" + rows + "  | any | any | 0% |\n}\n"
                     f"component c = {SUM} * t(1, 2)\n")
    rc, _, err = _check(capsys, plan)
    assert rc == 1 and "error[KR008]" in err and "too large to check" in err


# ------------------------------------------------------------ schema
def test_lookup_on_a_key_that_is_not_a_column_is_kr104_at_the_key(tmp_path, capsys):
    plan, _ = _files(tmp_path, 'component c = deals["d1"].amount\n')
    text = open(plan, encoding="utf-8").read().replace("input deals key deal_id", "input deals key nope")
    open(plan, "w", encoding="utf-8").write(text)
    rc, _, err = _check(capsys, plan)
    assert rc == 1 and "error[KR104]: key `nope` is not a column of `deals`" in err
    assert "plan.kam:9:17" in err  # at `nope`


# ------------------------------------------------------------ wide CSV
def test_100k_unused_columns_run_in_seconds_on_both_engines(tmp_path, capsys):
    plan, data = _files(tmp_path, f"component c = {SUM}\n", extra_cols=100_000)
    for engine in ("interpreter", "columnar"):
        start = time.perf_counter()
        rc, out, err = _run(capsys, "run", plan, "--data", data, "--engine", engine, "-j", "1")
        assert rc == 0 and "p1,2025-Q1,c,101.00,EUR" in out, err
        assert time.perf_counter() - start < 60  # a hang guard (the old header check took minutes)


def test_header_wider_than_the_limit_is_kr408(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(limits, "MAX_COLUMNS", 10)
    plan, data = _files(tmp_path, f"component c = {SUM}\n", extra_cols=20)
    for rc, out, err in _runs(capsys, plan, data):
        assert rc == 1 and out == "" and "error[KR408]" in err and "24 columns (at most 10)" in err


# ------------------------------------------------------------ found by tests/security/test_mutations.py
def test_payee_attribute_without_a_payees_input_is_a_diagnostic(tmp_path, capsys):
    plan = tmp_path / "plan.kam"
    plan.write_text('plan "T"\ncurrency EUR\nperiod quarter\npayees people\n'
                    "component c = payee.annual_variable * 1%\n", encoding="utf-8")
    rc, _, err = _check(capsys, str(plan))
    assert rc == 1 and "error[KR101]: the payees table `people` is not declared" in err


def test_period_option_past_the_calendar_is_kr002(tmp_path, capsys):
    plan, data = _files(tmp_path, f"component c = {SUM}\n")
    for rc, out, err in _runs(capsys, plan, data, "--period", "9999-Q4"):
        assert rc == 1 and out == "" and "error[KR002]: --period 9999-Q4 ends past the supported calendar" in err


def test_a_cell_past_the_csv_readers_cap_is_kr408_on_its_row(tmp_path, capsys):
    # 200,000 characters in a column the plan does not read: past the csv module's own cap
    # (131,072), which used to surface as "not valid CSV" (KR403) without saying why
    plan, data = _files(tmp_path, f"component c = {SUM}\n", extra_cols=1)
    deals = os.path.join(data, "deals.csv")
    lines = open(deals, encoding="utf-8").read().split("\n")
    lines[2] = lines[2] + "x" * 200_000  # the last (unused) cell of row 3
    open(deals, "w", encoding="utf-8").write("\n".join(lines))
    for rc, out, err in _runs(capsys, plan, data, "--period", "2025-Q1"):
        assert rc == 1 and out == "" and "deals.csv:3:1: error[KR408]" in err and "131072 characters" in err
