"""Quotients computed with before they are rounded: exact rational arithmetic in SQL.

A quotient the interpreter keeps unrounded (`nrr = (a + b) / a`, then `20 * (nrr - 110%)`)
is a pair (numerator, denominator) of exact DECIMAL(38, s) values (translate.Val.ratio), and
every operation on it stays a pair: n1/d1 + x = (n1 + x d1) / d1, n1/d1 x n2/d2 = n1 n2 / d1 d2,
x / (n/d) = x d / n; min, max and `if` choose the numerator and the denominator with the
same CASE; a comparison is made on the value the interpreter compares (snapped to
GUARD_PLACES, exact.round_ratio) so no DOUBLE and no dialect scale rule is ever involved.

The interpreter computes the same values to 80 significant digits: the rational is the
exact value it approximates, and both give the same rounding except where the interpreter's
path through an exact (terminating) quotient differs from an approximate one. Those rows are
an error mask (`doubt`): the run then goes to the interpreter, never a different cent:
- a product with a terminating quotient whose places, with the other factor's, pass
  EXACT_PLACES (the interpreter stops there, KR415);
- a derived quotient (not a single a / b of exact values) rounded or compared while it
  terminates with 17 to 24 places (the interpreter rounds it as it is, or snapped at 16
  places, depending on its path).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.backends.sql.exact import GUARD, cast, ints, round_ratio
from kamrules.backends.sql.values import Val, any_err
from kamrules.core.numeric import EXACT_PLACES

def pair(v):
    """(n, d) of a Val: its ratio, or (v, 1)."""
    if v.ratio is not None:
        return v.ratio
    return v, Val(cast("1", 0), "number", 0)


def make(n, d, kind, err, derived=True, summed=False):
    return Val("NULL", kind, 0, err, (n, d), derived=derived, summed=summed)


def _num(sql, scale, kind="number"):
    if scale > EXACT_PLACES:
        raise ValueError(f"a quotient's part with {scale} decimal places (more than {EXACT_PLACES})")
    return Val(cast(sql, scale), kind, scale)


def mul(a, b):
    return _num(f"{a.sql} * {b.sql}", a.scale + b.scale)


def addsub(op, a, b):
    s = max(a.scale, b.scale)
    return _num(f"{cast(a.sql, s)} {op} {cast(b.sql, s)}", s)


def terminates(n, d, places: int) -> str:
    """SQL: n / d x 10^places is an integer (d != 0), by remainders (no HUGEINT overflow for
    in-range values)."""
    N, D = ints(n.sql, n.scale), f"nullif(abs({ints(d.sql, d.scale)}), 0)"  # DuckDB: x % 0 is an error
    e = places + d.scale - n.scale
    if e >= 0:
        return f"((kr_fmod({N}, {D}) * {10 ** e}) % {D} = 0)"
    return f"({N} % ({D} * {10 ** -e}) = 0)"


def doubt_places(v, lo: int, hi: int = EXACT_PLACES) -> str:
    """SQL: the quotient v terminates within `hi` places but not within `lo`."""
    n, d = v.ratio
    return f"({terminates(n, d, hi)} AND NOT {terminates(n, d, lo)})"


def arith(op: str, a, b, kind: str, err):
    """a op b (+ - * /) with a quotient among them, as a quotient."""
    (n1, d1), (n2, d2) = pair(a), pair(b)
    one1, one2 = a.ratio is None, b.ratio is None
    doubt = None
    if op in ("+", "-"):
        if one2:
            n, d = addsub(op, n1, mul(n2, d1)), d1
        elif one1:
            n, d = addsub(op, mul(n1, d2), n2), d2
        else:
            n, d = addsub(op, mul(n1, d2), mul(n2, d1)), mul(d1, d2)
    elif op == "*":
        n, d = mul(n1, n2), mul(d1, d2)
        if one2:
            doubt = doubt_places(a, EXACT_PLACES - b.scale)
        elif one1:
            doubt = doubt_places(b, EXACT_PLACES - a.scale)
        else:
            half = EXACT_PLACES // 2
            doubt = f"({doubt_places(a, half)} OR {doubt_places(b, half)})"
    else:  # (n1 / d1) / (n2 / d2) = n1 d2 / (d1 n2)
        n, d = mul(n1, d2), mul(d1, n2)
        err = any_err(err, f"({n2.sql} = 0)")
    return make(n, d, kind, any_err(err, doubt), summed=op in ("+", "-") or a.summed or b.summed)


def neg(v):
    n, d = v.ratio
    return attrs.evolve(v, ratio=(attrs.evolve(n, sql=cast(f"-({n.sql})", n.scale)), d))


def choose(cond: str, a, b, kind: str, err):
    """CASE WHEN cond THEN a ELSE b END with a quotient among them: the numerator and the
    denominator chosen alike."""
    (n1, d1), (n2, d2) = pair(a), pair(b)

    def case(x, y):
        s = max(x.scale, y.scale)
        return Val(cast(f"CASE WHEN {cond} THEN {cast(x.sql, s)} ELSE {cast(y.sql, s)} END", s), "number", s)
    return make(case(n1, n2), case(d1, d2), kind, err, summed=a.summed or b.summed)


def compared(v):
    """(SQL, err) of a quotient as the interpreter compares it: its value snapped half-even
    to GUARD places (exact when it terminates within them); doubt where it terminates with
    GUARD + 1 to 24 places."""
    n, d = v.ratio
    sql, _ = round_ratio(n.sql, n.scale, d.sql, d.scale, Decimal(1).scaleb(-GUARD), "half_even")
    return f"(CASE WHEN {d.sql} = 0 THEN NULL ELSE {sql} END)", any_err(v.err, doubt_places(v, GUARD))


def exact_ordering(op: str, a, b) -> str:
    """SQL: a op b (< <= > >=) exactly, by cross-multiplication (min and max: the
    interpreter picks on its unsnapped values)."""
    (n1, d1), (n2, d2) = pair(a), pair(b)
    sign = f"(CASE WHEN ({d1.sql} < 0) <> ({d2.sql} < 0) THEN -1 ELSE 1 END)"
    left, right = mul(n1, d2), mul(n2, d1)
    return f"({sign} * ({left.sql} - {right.sql}) {op} 0)"
