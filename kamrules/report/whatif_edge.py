"""The unrounded argument of a curve's axis, to find a tier's edge in a few re-runs.

An attainment read by a curve is often rounded first (`let nrr_attainment =
round(nrr_result / nrr_target, 1%, down)`): it moves in steps of 1%, so a line through two
re-runs' values of the axis says little about where the next step starts, and the next-tier
search (report/whatif.py `search`) closed its bracket mostly by bisection (19 to 22 re-runs
for a bracket of tens of thousands of euros). The argument E (`nrr_result / nrr_target`)
moves with the measure, linearly when the measure is a term of a sum divided by a fixed
value, so a line through two re-runs' values of E puts the amount at which E reaches the
threshold (where a rounding down reaches it) at once: the search then re-runs that amount
and the one a unit below, and the engine's answers (the axis reached or not: never this
line) decide. E is evaluated here from the values of the lets and params it reads, as each
re-run gives them; only arithmetic (+, -, *, /, a minus sign, numbers) of names is read,
anything else leaves the search on the axis itself.
"""
from __future__ import annotations

import decimal
from decimal import Decimal

from kamrules.core import ir

_OPS = ("+", "-", "*", "/")


def unrounded(lowered: dict, name: str) -> tuple:
    """(E, the names E reads, those that are params) of a let `name = round(E, ...)` whose E
    is arithmetic of lets, params and numbers; (None, empty, empty) otherwise. lowered: the
    lowered plan's definitions."""
    d = lowered.get(name)
    expr = d.node.expr if d is not None and d.kind == "let" else None
    if not (isinstance(expr, ir.Call) and expr.func == "round" and expr.args):
        return None, frozenset(), frozenset()
    inner, reads = expr.args[0], set()
    if not _arithmetic(inner, lowered, reads):
        return None, frozenset(), frozenset()
    return inner, frozenset(reads), frozenset(n for n in reads if lowered[n].kind == "param")


def _arithmetic(e, lowered: dict, reads: set) -> bool:
    if isinstance(e, ir.Number):
        return True
    if isinstance(e, ir.Name):
        ok = bool(e.ref) and e.ref[0] == "def" and e.ref[1] in lowered and lowered[e.ref[1]].kind in ("let", "param")
        if ok:
            reads.add(e.ref[1])
        return ok
    if isinstance(e, ir.Neg):
        return _arithmetic(e.expr, lowered, reads)
    if isinstance(e, ir.BinOp) and e.op in _OPS:
        return _arithmetic(e.left, lowered, reads) and _arithmetic(e.right, lowered, reads)
    return False


def evaluate(e, values: dict):
    """E's value from the values of the names it reads (numbers; Money as its amount), None
    when one is missing or it divides by zero."""
    if isinstance(e, ir.Number):
        return e.value
    if isinstance(e, ir.Name):
        v = values.get(e.ref[1])
        return v if isinstance(v, Decimal) else None
    if isinstance(e, ir.Neg):
        v = evaluate(e.expr, values)
        return None if v is None else -v
    a, b = evaluate(e.left, values), evaluate(e.right, values)
    if a is None or b is None:
        return None
    try:
        return a + b if e.op == "+" else a - b if e.op == "-" else a * b if e.op == "*" else a / b
    except (ArithmeticError, decimal.InvalidOperation):
        return None


def level(tier, base: dict):
    """values -> the level the search interpolates on: E when the tier's axis has one (its
    params, the same in every re-run, read from `base` when a re-run does not give them),
    else the axis's value."""
    if tier.inner is None:
        return lambda values: values.get(tier.axis)
    fixed = {n: base.get(n) for n in tier.params}

    def of(values):
        return evaluate(tier.inner, {**fixed, **values} if fixed else values)
    return of
