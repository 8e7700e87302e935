"""Error bounds of approximate values (core.numeric, backends/polars/values.py), as a
property: for generated expressions with divisions, cancellations and large factors, the
columnar run prints what the interpreter prints, byte for byte (payouts, or the same
diagnostic when the interpreter stops). A payee-period whose decision its columns cannot
take is replayed exactly or handed to the interpreter; it never gets another number.

The oracle is the interpreter (the reference), run in process on the same plan and data;
the columnar engine is asked for with `--engine columnar` and must not refuse the plan.
"""
from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

pytest.importorskip("polars")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from conftest import examples, run_cli  # noqa: E402
from kamrules.run.session import Session  # noqa: E402

LITERALS = ["3", "7", "12", "0.3", "1000000", "1000000000000", "333333333333", "0.000001"]


def _exprs():
    leaf = st.sampled_from(["payee.x", "payee.y", "payee.z"] + LITERALS)

    def grow(inner):
        return st.tuples(inner, st.sampled_from("+-*/"), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    return st.recursive(leaf, grow, max_leaves=6)


# a cancellation then a large factor: (x / y * c - d) * f with d the rounded x / y * c
CANCEL = st.tuples(st.sampled_from(["3", "7", "payee.y"]), st.sampled_from(["1000000", "1000000000000"]),
                   st.sampled_from(["1000", "1000000000000", "3"]))

CELLS = st.sampled_from(["1", "2", "3", "7", "0", "-1", "0.5", "1000000", "123456.789", "0.000001",
                         "333333333333", "-2.5"])


def _plan(exprs: list, cancel: tuple, mode: str) -> str:
    div, big, factor = cancel
    amplified = f"(payee.x / {div} * {big} - payee.d) * {factor}"
    comps = [f"component a{i} = money({e})" for i, e in enumerate(exprs)]
    comps += [f"component t{i} = if {e} >= 1 then 1 EUR else 0 EUR" for i, e in enumerate(exprs)]
    comps += [f"component r{i} = round({e}, 1%, {mode}) * 1 EUR" for i, e in enumerate(exprs)]
    comps += [f"component c0 = money({amplified})",
              f"component c1 = if {amplified} >= {factor} then 1 EUR else 0 EUR",
              f"component c2 = round({amplified}, unit, {mode}) * 1 EUR"]
    return ('plan "bounds"\ncurrency EUR\nperiod quarter\n'
            f"round components to cent {mode}\n"
            "input people key payee_id {\n  payee_id: Text\n  x: Number\n  y: Number\n  z: Number\n"
            "  d: Number\n}\n" + "\n".join(comps) + "\n")


def _d(x: str, y: str, div: str, big: str) -> str:
    """d: x / div * big rounded to 12 places (the cancellation leaves the quotient's tail)."""
    ctx = decimal.Context(prec=100, traps=[decimal.InvalidOperation, decimal.DivisionByZero])
    try:
        q = ctx.multiply(ctx.divide(Decimal(x), Decimal(y if div == "payee.y" else div)), Decimal(big))
    except ArithmeticError:
        return "0"
    return f"{ctx.quantize(q, Decimal('0.000000000001')):f}" if abs(q) < Decimal("1e17") else "0"


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exprs=st.lists(_exprs(), min_size=1, max_size=2), cancel=CANCEL,
       rows=st.lists(st.tuples(CELLS, CELLS, CELLS), min_size=2, max_size=5),
       mode=st.sampled_from(["half_up", "half_even", "down", "floor", "ceiling"]))
def test_columnar_prints_the_interpreters_numbers_or_hands_over(tmp_path_factory, exprs, cancel, rows, mode):
    tmp = tmp_path_factory.mktemp("bounds")
    plan, data = tmp / "p.kam", tmp / "data"
    data.mkdir()
    plan.write_text(_plan(exprs, cancel, mode))
    lines = [f"p{i},{x},{y},{z},{_d(x, y, cancel[0], cancel[1])}" for i, (x, y, z) in enumerate(rows)]
    (data / "people.csv").write_text("payee_id,x,y,z,d\n" + "\n".join(lines) + "\n")
    want = run_cli("run", plan, "--data", data, "--period", "2025-Q1", "--engine", "interpreter")
    got = run_cli("run", plan, "--data", data, "--period", "2025-Q1", "--engine", "columnar")
    assert "does not run this plan" not in got.stderr, got.stderr
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)


def _both_engines_columnar_alone(plan, data, want: str) -> None:
    """Both engines print `want` for 2025-Q1, and the columnar engine decided every payee
    itself (none handed over to the interpreter)."""
    for engine in ("interpreter", "columnar"):
        assert run_cli("run", plan, "--data", data, "--period", "2025-Q1", "--engine", engine).stdout == want
    session = Session(str(plan), str(data), "2025-Q1")
    assert session.execute().engine == "columnar" and session.interpreted_payees == []


def test_the_amplified_quotient_is_replayed_not_handed_over(tmp_path):
    """The case of test_numeric_edges: (1/3 x 1e12 - 333333333333) x 1e12 x 3 is 999999999999
    on the columns, with an error bound of ~3 (1e-24 amplified by 1e24), so its rounding and
    its comparison with 1e12 are replayed exactly on those rows (10**12, as the
    interpreter): no hand-over. p2: 2 / 4 terminates, (0.5 x 1e12 - 5e11) x 1e12 x 4 is 0."""
    plan, data = tmp_path / "p.kam", tmp_path / "data"
    data.mkdir()
    expr = "(payee.x / payee.y * 1000000000000 - payee.d) * 1000000000000 * payee.y"
    plan.write_text('plan "a"\ncurrency EUR\nperiod quarter\nround components to cent half_up\n'
                    "input people key payee_id {\n  payee_id: Text\n  x: Number\n  y: Number\n  d: Number\n}\n"
                    f"component c = money({expr})\n"
                    f"component t = if {expr} >= 1000000000000 then 1 EUR else 0 EUR\n")
    (data / "people.csv").write_text("payee_id,x,y,d\np1,1,3,333333333333\np2,2,4,500000000000\n")
    want = ("payee_id,period,component,amount,currency\n"
            "p1,2025-Q1,c,1000000000000.00,EUR\np1,2025-Q1,t,1.00,EUR\np1,2025-Q1,total,1000000000001.00,EUR\n"
            "p2,2025-Q1,c,0.00,EUR\np2,2025-Q1,t,0.00,EUR\np2,2025-Q1,total,0.00,EUR\n")
    _both_engines_columnar_alone(plan, data, want)


def test_a_long_chain_of_approximate_products_runs_columnar(tmp_path):
    """Each product of approximate values carries an error bound that reads both operands
    several times; before the operands were kept as columns, a chain of n factors built an
    expression exponential in n (the prorated plan's three factors: 900,000 characters and
    2.7 s for three payees). Ten factors x / 3 (a non-terminating quotient each), rounded to
    the cent: by hand, p1 (x = 3) is 1 x ... x 1 = 1.00 exactly per factor -> 1.00; p2 (x = 1)
    is (1/3)^10 = 0.0000169... -> 0.00; p3 (x = 6) is 2^10 = 1024.00. Both engines agree, and
    the columnar engine decides them itself (no payee handed over)."""
    plan, data = tmp_path / "p.kam", tmp_path / "data"
    data.mkdir()
    chain = " * ".join(["(payee.x / 3)"] * 10)
    plan.write_text('plan "chain"\ncurrency EUR\nperiod quarter\nround components to cent half_up\n'
                    "input people key payee_id {\n  payee_id: Text\n  x: Number\n}\n"
                    f"component c = money({chain})\n")
    (data / "people.csv").write_text("payee_id,x\np1,3\np2,1\np3,6\n")
    want = ("payee_id,period,component,amount,currency\n"
            "p1,2025-Q1,c,1.00,EUR\np1,2025-Q1,total,1.00,EUR\n"
            "p2,2025-Q1,c,0.00,EUR\np2,2025-Q1,total,0.00,EUR\n"
            "p3,2025-Q1,c,1024.00,EUR\np3,2025-Q1,total,1024.00,EUR\n")
    _both_engines_columnar_alone(plan, data, want)


_DIGITS = st.integers(min_value=-(10 ** 14 - 1), max_value=10 ** 14 - 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_DIGITS, st.integers(min_value=0, max_value=24)), min_size=1, max_size=20),
       st.integers(min_value=0, max_value=24))
def test_has_places_reads_the_places_of_a_decimal(cells, k):
    """values.has_places(x, k) (a modulo on the Decimal's integer) says what Python's decimal
    module says: x quantized to k places is x (nulls stay null)."""
    import polars as pl
    from kamrules.backends.polars.values import DEC, has_places
    xs = [Decimal(m).scaleb(-p) if m % 3 else None for m, p in cells]
    got = pl.DataFrame({"x": pl.Series(xs, dtype=DEC)}).select(has_places(pl.col("x"), k))["x"].to_list()
    want = [None if x is None else x == x.quantize(Decimal(1).scaleb(-k), rounding=decimal.ROUND_DOWN,
                                                      context=decimal.Context(prec=100))
            for x in xs]
    assert got == want
