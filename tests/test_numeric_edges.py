"""The numeric edge table, on both engines: half-way ties at the rounding scale in every
named mode (positive and negative, half cents included), 1/3 x 3 and other quotients at a
threshold, values at the ends of the exact range (core/limits.py: 18 digits before the
point, 12 after), 17+ decimals in data cells and plan literals.

Each case is a one-component plan run on one payee by `run --engine interpreter` and `run
--engine columnar` (in process). The expected amount is the mathematically exact value of
the expression, written out in the case (a comment says how it is obtained), rounded here
with Python's decimal module in an explicit context: kamrules is never called to compute it.
A case that stops names the diagnostic code both engines must print.
"""
from __future__ import annotations

import decimal
import re
from decimal import Decimal

import pytest

pytest.importorskip("polars")

from conftest import run_cli  # noqa: E402

MODES = {  # the language's mode names (docs/language.md#rounding) -> Python's
    "half_up": decimal.ROUND_HALF_UP, "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN, "up": decimal.ROUND_UP, "down": decimal.ROUND_DOWN,
    "floor": decimal.ROUND_FLOOR, "ceiling": decimal.ROUND_CEILING,
}
# The oracle's contexts: far more digits than any value below; EXACT traps any inexact step
# (the arithmetic of the oracle is exact), ORACLE rounds only in the explicit quantize calls.
ORACLE = decimal.Context(prec=200, traps=[decimal.InvalidOperation, decimal.Overflow])
EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


def expected(exact: str, step: str, mode: str) -> str:
    """The amount printed for the exact value rounded to `step` ("0.01" or "1") in `mode`:
    two decimals, never -0.00 (the CSV contract)."""
    q = Decimal(exact).quantize(Decimal(step), rounding=MODES[mode], context=ORACLE)
    q = q.quantize(Decimal("0.01"), context=EXACT)
    return f"{abs(q) if q == 0 else q:f}"


def _round_to(exact: str, step: str, mode: str) -> Decimal:
    """exact rounded to a multiple of step (0.05, 10...) in mode: units of step, rounded."""
    units = EXACT.divide(Decimal(exact), Decimal(step))
    return EXACT.multiply(units.quantize(Decimal(1), rounding=MODES[mode], context=ORACLE), Decimal(step))


def run_batch(tmp_path, cases, step="cent", mode="half_up", extra=""):
    """One plan, one payee, one component per case: (expression with {x} {y} {m}, x, y, m,
    expected amount). Each case reads its own columns x<i>, y<i>, m<i>. Returns the outcomes
    of both engines and the payout CSV the cases expect."""
    cols = "".join(f"  x{i}: Number\n  y{i}: Number\n  m{i}: Money\n" for i in range(len(cases)))
    comps = "".join(f"component c{i} = " + expr.format(x=f"payee.x{i}", y=f"payee.y{i}", m=f"payee.m{i}") + "\n"
                    for i, (expr, *_rest) in enumerate(cases))
    plan = tmp_path / "p.kam"
    plan.write_text(f'plan "edges"\ncurrency EUR\nperiod quarter\nround components to {step} {mode}\n'
                    f"input people key payee_id {{\n  payee_id: Text\n{cols}}}\n{extra}\n{comps}")
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    header = ",".join(f"x{i},y{i},m{i}" for i in range(len(cases)))
    row = ",".join(f"{x},{y},{m}" for _, x, y, m, _ in cases)
    (data / "people.csv").write_text(f"payee_id,{header}\np1,{row}\n")
    want = "payee_id,period,component,amount,currency\n" + "".join(
        f"p1,2025-Q1,c{i},{amount},EUR\n" for i, (*_rest, amount) in enumerate(cases))
    total = sum((Decimal(c[-1]) for c in cases), Decimal(0))
    want += f"p1,2025-Q1,total,{total:f},EUR\n"
    return [_run(plan, data, engine) for engine in ("interpreter", "columnar")], want


def _run(plan, data, engine):
    r = run_cli("run", plan, "--data", data, "--period", "2025-Q1", "--engine", engine)
    assert "does not run this plan" not in r.stderr, r.stderr
    return r.returncode, r.stdout, re.findall(r"\bKR\d{3}\b", r.stderr)[:1] if r.returncode else []


def check_cases(tmp_path, cases, **plan):
    """run_batch then assert_cases."""
    outcomes, want = run_batch(tmp_path, cases, **plan)
    assert_cases(outcomes, want, cases)


def assert_cases(outcomes, want, cases):
    """Both engines print `want`; a mismatch names the cases (component c<i>) it is in."""
    for engine, (code, out, diag) in zip(("interpreter", "columnar"), outcomes):
        assert (code, diag) == (0, []), f"{engine} stopped: {diag}"
        named = [f"{c[0]} with x={c[1]} y={c[2]} m={c[3]}" for c in cases] + ["the total"]
        wrong = [f"{engine}: {got!r} for {named[i]}, want {line!r}"
                 for i, (got, line) in enumerate(zip(out.splitlines()[1:], want.splitlines()[1:]))
                 if got != line]
        assert out == want, "\n".join(wrong)


# ---------------------------------------------------------------- ties at the scale
# x is a Number cell; money(x) is rounded once by the header `round components to STEP MODE`.
CENT_TIES = ["1.005", "-1.005", "2.675", "-0.005", "0.015", "-0.025",
             "1.004999999999", "1.005000000001", "-1.004999999999",  # next to a tie: 12 places
             "7.25", "0"]                                             # nothing to round
UNIT_TIES = ["2.5", "-2.5", "3.5", "-0.5", "0.499999999999", "-3"]


# round(x, step, mode) inside the expression, at other scales than the component's; the
# result times the scale is a whole number of cents, which the header rounding keeps.
EXPLICIT = [
    # (expression, x, step, scale)
    ("round({x}, 0.001, {mode}) * 1000 EUR", "0.0125", "0.001", "1000"),
    ("round({x}, 0.001, {mode}) * 1000 EUR", "-0.0125", "0.001", "1000"),
    ("round({x}, 1%, {mode}) * 100 EUR", "0.805", "0.01", "100"),
    ("round({x}, 1%, {mode}) * 100 EUR", "-0.805", "0.01", "100"),
    ("round(money({x}), 0.05 EUR, {mode})", "1.025", "0.05", "1"),
    ("round(money({x}), 0.05 EUR, {mode})", "-1.075", "0.05", "1"),
    ("round(money({x}), 10 EUR, {mode})", "-15", "10", "1"),
    ("round(money({x}), unit, {mode})", "-0.5", "1", "1"),
    # 0.0000000000015 has 13 places: a cell cannot hold it, a terminating quotient can
    ("round({x} / 10, 0.000000000001, {mode}) * 1000000000000 EUR", "0.000000000015", "0.000000000001",
     "1000000000000"),
]

QUOTIENTS = [
    # (expression, x, y, exact value of the expression, comment); a repeating decimal is
    # written to 40+ places: it rounds as the real number does (it has no tie)
    ("money({x} / 3 * 3)", "1", "0", "1", "1/3 x 3 is 1"),
    ("money({x} / 3)", "1", "0", "0.333333333333333333333333333333333333333333", "1/3"),
    ("money({x} / 3)", "-1", "0", "-0.333333333333333333333333333333333333333333", "-1/3"),
    ("money({x} / 12)", "48793.5", "0", "4066.125", "a terminating quotient on a half cent"),
    ("money({x} / 3 * 0.045)", "1", "0", "0.015", "1/3 x 0.045: a half cent reached through 1/3"),
    ("money({x} / 7 * 7 * 0.005)", "-1", "0", "-0.005", "-1/7 x 7 x 0.005: a negative half cent"),
    ("money({x} / {y} * 2.5)", "1", "6", "0.416666666666666666666666666666666666666667", "1/6 x 2.5"),
    ("money({x} / {y} * {y})", "2", "3", "2", "2/3 x 3 is 2"),
]


def _mode_cases(mode):
    cases = [("money({x})", x, "0", "0", expected(x, "0.01", mode)) for x in CENT_TIES]
    for expr, x, step, scale in EXPLICIT:
        exact = EXACT.divide(Decimal(x), 10) if "{x} / 10" in expr else Decimal(x)
        amount = EXACT.multiply(_round_to(str(exact), step, mode), Decimal(scale))
        cases.append((expr.replace("{mode}", mode), x, "0", "0", expected(str(amount), "0.01", "half_up")))
    cases += [(expr, x, y, "0", expected(exact, "0.01", mode)) for expr, x, y, exact, _ in QUOTIENTS]
    return cases


@pytest.mark.parametrize("mode", MODES)
def test_ties_explicit_rounding_and_quotients_in_every_mode(tmp_path, mode):
    cases = _mode_cases(mode)
    check_cases(tmp_path, cases, mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_ties_at_the_unit(tmp_path, mode):
    cases = [("money({x})", x, "0", "0", expected(x, "1", mode)) for x in UNIT_TIES]
    check_cases(tmp_path, cases, step="unit", mode=mode)


THRESHOLDS = [
    # (condition, x, y, holds?, comment)
    ("{x} / 3 * 3 >= 1", "1", "0", True, "1/3 x 3 >= 100%"),
    ("{x} / 3 * 3 <= 1", "1", "0", True, "1/3 x 3 <= 100%"),
    ("{x} / 3 * 3 < 1", "1", "0", False, "1/3 x 3 < 1"),
    ("{x} / 3 * 3 > 1", "1", "0", False, "1/3 x 3 > 1"),
    ("{x} / {y} >= 80%", "4", "5", True, "4/5 >= 80%, a terminating quotient"),
    ("{x} / 3 * 3 / {y} >= 80%", "80", "100", True, "80/3 x 3 / 100 is 80%"),
    ("{x} / 3 * 3 / {y} > 80%", "80", "100", False, "80/3 x 3 / 100 is not above 80%"),
    ("{x} / {y} < 0.666666666667", "2", "3", True, "2/3 < 0.666666666667 (12 places)"),
    ("{x} / {y} > 0.666666666666", "2", "3", True, "2/3 > 0.666666666666"),
    ("{x} > 1", "1.000000000001", "0", True, "12 decimals above 1"),
    ("{x} / 1 > 1", "1.000000000001", "0", True, "12 decimals above 1, through a quotient"),
    ("{x} * {y} == 1", "0.000000000001", "1000000000000", True, "1e-12 x 1e12"),
    ("between({x} / 3 * 3, 0, 1)", "1", "0", True, "1/3 x 3 between 0 and 1"),
    ("money({x} / 3) * 3 >= 1 EUR", "1", "0", True, "1/3 EUR x 3 >= 1 EUR"),
    ("-{x} / 3 * 3 >= -1", "1", "0", True, "-1/3 x 3 >= -1"),
]


def test_comparisons_of_quotients_at_thresholds(tmp_path):
    cases = [(f"if {cond} then 1 EUR else 0 EUR", x, y, "0", "1.00" if holds else "0.00")
             for cond, x, y, holds, _ in THRESHOLDS]
    check_cases(tmp_path, cases)


def test_equality_of_a_quotient_snaps_like_the_other_comparisons(tmp_path):
    cases = [("if {x} / 3 * 3 == 1 then 1 EUR else 0 EUR", "1", "0", "0", "1.00"),
             ("if {x} / 3 * 3 != 1 then 1 EUR else 0 EUR", "1", "0", "0", "0.00"),
             ("if {x} / 3 * 3 in [1, 2] then 1 EUR else 0 EUR", "1", "0", "0", "1.00")]
    check_cases(tmp_path, cases)


def test_between_of_a_quotient_snaps_like_the_comparisons(tmp_path):
    cases = [("if between({x} / 3 * 3, 1, 2) then 1 EUR else 0 EUR", "1", "0", "0", "1.00")]
    check_cases(tmp_path, cases)


def test_an_amplified_quotient_error_is_not_printed(tmp_path):
    # (1/3 x 10**12 - 333333333333) x 10**12 x 3 = (1/3) x 3 x 10**12 = 10**12 exactly
    expr = "({x} / 3 * {y} - 333333333333) * {y} * 3"
    cases = [(f"if {expr} >= 1000000000000 then 1 EUR else 0 EUR", "1", "1000000000000", "0", "1.00"),
             (f"money({expr})", "1", "1000000000000", "0", "1000000000000.00")]
    check_cases(tmp_path, cases)


MATERIALIZED = """curve rate(a: Rate) -> Rate {
  | < 80%   | 0%   |
  | >= 80%  | 100% |
}"""


@pytest.mark.parametrize("expr, x, mode, amount", [
    ("rate({m} / 6 * 6 / 1 EUR) * 100 EUR", "0.8", "half_up", "100.00"),  # 0.8 / 6 x 6 is 80%
    ("team_total({m} / 0.3)", "215.15", "up", "2151.50"),  # 215.15 / 0.3 x 3 payees = 2151.5 exactly
], ids=["curve", "team_total"])
def test_a_materialized_quotient_stays_approximate(tmp_path, expr, x, mode, amount):
    plan, data = tmp_path / "p.kam", tmp_path / "data"
    data.mkdir()
    plan.write_text(f'plan "m"\ncurrency EUR\nperiod quarter\nround components to cent {mode}\n'
                    f"input people key payee_id {{\n  payee_id: Text\n  team: Text\n  m: Money\n}}\n"
                    f"{MATERIALIZED}\ncomponent c = {expr.format(m='payee.m')}\n")
    (data / "people.csv").write_text("payee_id,team,m\n" + "".join(f"p{i},t1,{x}\n" for i in (1, 2, 3)))
    want = "payee_id,period,component,amount,currency\n" + "".join(
        f"p{i},2025-Q1,c,{amount},EUR\np{i},2025-Q1,total,{amount},EUR\n" for i in (1, 2, 3))
    assert [_run(plan, data, engine) for engine in ("interpreter", "columnar")] == [(0, want, [])] * 2


def test_the_numeric_module_compares_snapped_values():
    """core.numeric.compare / between (the rules the engines are to call): 1/3 x 3 computed
    by the module's own arithmetic equals 1 under every comparison that includes 1."""
    from kamrules.core.numeric import between, compare, compute
    third_times_3 = compute("*", compute("/", Decimal(1), Decimal(3)), Decimal(3))
    assert third_times_3 != 1  # 0.999...9 (80 digits): the raw Decimal is not 1
    assert [compare(op, third_times_3, Decimal(1)) for op in ("==", "!=", "<", "<=", ">", ">=")] == \
        [True, False, False, True, False, True]
    assert between(third_times_3, Decimal(1), Decimal(2)) and not between(third_times_3, Decimal(2), Decimal(3))
    # an exact value is never snapped: 1 + 1e-24 stays above 1
    assert compare(">", Decimal(1) + Decimal("1e-24"), Decimal(1))


def test_table_cells_match_under_the_numeric_model():
    """check.tables.cell_matches compares as core.numeric.compare does, whoever calls it:
    1/3 x 3 is in `| 1 |`, `| >= 1 |`, `| 1 to <= 2 |`, not in `| < 1 |` or `| 0 to < 1 |`."""
    from kamrules.check.tables import cell_matches
    from kamrules.core.numeric import compute
    from kamrules.syntax import ast
    x = compute("*", compute("/", Decimal(1), Decimal(3)), Decimal(3))
    one, two, zero = Decimal(1), Decimal(2), Decimal(0)
    cells = [(ast.Cell("eq"), one, None), (ast.Cell("cmp", ">="), one, None), (ast.Cell("range", "<="), one, two),
             (ast.Cell("cmp", "<"), one, None), (ast.Cell("range", "<"), zero, one), (ast.Cell("any"), None, None)]
    assert [cell_matches(c, x, lo, hi) for c, lo, hi in cells] == [True, True, True, False, False, True]
    assert cell_matches(ast.Cell("eq"), "gold", "gold", None) and not cell_matches(ast.Cell("eq"), "gold", "x", None)


CURVE = """curve rate(a: Rate) -> Rate {
  | < 80%          | 0%   |
  | 80% to < 100%  | 50%  |
  | >= 100%        | 100% |
}
table exactly(a: Rate) -> Rate hit first {
  | 80%  | 100% |
  | any  | 0%   |
}"""


def test_decision_cells_match_the_exact_quotient(tmp_path):
    cases = [
        ("rate({x} / 3 * 3 / {y}) * 100 EUR", "80", "100", "0", "50.00"),   # 80%: `80% to < 100%`
        ("rate({x} / 3 * 3 / {y}) * 100 EUR", "100", "100", "0", "100.00"),  # 100%: `>= 100%`
        ("rate({x} / {y}) * 100 EUR", "7999999999999", "10000000000000", "0", "0.00"),  # below 80%
        ("rate({x} / {y} * 3 / 2.5) * 100 EUR", "2", "3", "0", "50.00"),    # 2/3 x 3 / 2.5 is 80%
        ("exactly({x} / 3 * 3 / {y}) * 100 EUR", "80", "100", "0", "100.00"),  # `| 80% |` cell
        ("exactly({x} / {y}) * 100 EUR", "4", "5", "0", "100.00"),
    ]
    check_cases(tmp_path, cases, extra=CURVE)


# ---------------------------------------------------------------- the range's ends
RANGE = [
    # (expression, x, y, m, outcome: an amount or a code, comment)
    ("{m}", "0", "0", "999999999999999999.99", "999999999999999999.99", "the largest EUR amount"),
    ("-{m}", "0", "0", "999999999999999999.99", "-999999999999999999.99", "the smallest"),
    ("{m} + 0.01 EUR", "0", "0", "999999999999999999.99", "KR413", "10**18 stops the run"),
    ("{m} * {x}", "2", "0", "999999999999999999.99", "KR413", "a product past the range"),
    ("money({x})", "999999999999999999", "0", "0", "999999999999999999.00", "18 digits before the point"),
    ("money({x})", "-999999999999999999.999999999999", "0", "0", "KR413",
     "18 + 12 digits: a component rounded to -10**18 is past the range"),
    ("money({x})", "-999999999999999999.994999999999", "0", "0", "-999999999999999999.99",
     "18 + 12 digits, rounded inside the range"),
    ("money({x})", "1000000000000000000", "0", "0", "KR414", "19 digits in a cell"),
    ("money({x} * {y})", "0.000000000001", "999999999999999999", "0", "1000000.00",
     "12 places x 18 digits: 999999.999999999999 rounds to 1000000.00"),
    ("money({x} * {x} * {y} * {y})", "0.000000000001", "999999999999999999", "0", "1000000000000.00",
     "1e-24 x (1e18 - 1)^2 is 999999999999.999998000000000001: 24 places, exact"),
    ("money({x} * {x} * {x})", "0.000000000001", "0", "0", "KR415", "1e-36 is past 24 places"),
    ("money({x})", "0.00000000000000001", "0", "0", "KR414", "17 decimals in a cell"),
    ("money({x})", "1.00000000000000001", "0", "0", "KR414", "1 + 1e-17 in a cell"),
    ("money({x})", "0.0000000000005", "0", "0", "KR414", "13 decimals in a cell"),
    ("{m}", "0", "0", "0.005", "KR403", "a half cent in a EUR cell (EUR has 2 decimals)"),
]


def test_the_ends_of_the_range_that_pay(tmp_path):
    cases = [(expr, x, y, m, out) for expr, x, y, m, out, _ in RANGE if not out.startswith("KR")]
    check_cases(tmp_path, cases)


@pytest.mark.parametrize("expr, x, y, m, code, why", [r for r in RANGE if r[4].startswith("KR")],
                         ids=[r[5] for r in RANGE if r[4].startswith("KR")])
def test_the_ends_of_the_range_that_stop(tmp_path, expr, x, y, m, code, why):
    outcomes, _ = run_batch(tmp_path, [(expr, x, y, m, "0")])
    assert outcomes[0] == outcomes[1] == (1, "", [code]), why


@pytest.mark.parametrize("literal", ["1.00000000000000001", "0.0000000000001", "1000000000000000000"])
def test_a_literal_past_the_range_is_refused_before_any_engine(tmp_path, literal):
    """17 decimals, 13 decimals, 19 digits in a plan literal: KR005 from `check`, and from
    `run` on either engine."""
    outcomes, _ = run_batch(tmp_path, [(f"if {{x}} > {literal} then 1 EUR else 0 EUR", "1", "0", "0", "0")])
    assert run_cli("check", tmp_path / "p.kam").returncode == 1
    assert outcomes[0] == outcomes[1] == (1, "", ["KR005"])


def test_the_oracle_rounds_as_the_language_says():
    """The oracle's own table (docs/language.md#rounding), so a wrong MODES line fails here."""
    got = {mode: [expected(v, "0.01", mode) for v in ("1.005", "-1.005", "1.015")] for mode in MODES}
    assert got == {
        "half_up": ["1.01", "-1.01", "1.02"], "half_even": ["1.00", "-1.00", "1.02"],
        "half_down": ["1.00", "-1.00", "1.01"], "up": ["1.01", "-1.01", "1.02"],
        "down": ["1.00", "-1.00", "1.01"], "floor": ["1.00", "-1.01", "1.01"],
        "ceiling": ["1.01", "-1.00", "1.02"],
    }
