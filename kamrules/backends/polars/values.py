"""The values of the columnar engine and their numeric rules: a plan value as a polars
expression with its error mask (`Col`), rows and period references, the evaluation context
(`Ctx`), the exceptions that hand a run to the interpreter (`Unsupported`, `Fallback`), and
the exact Decimal(38, 24) arithmetic: snapping approximate quotients to money.GUARD_PLACES,
rounding in the plan's named modes, and the margins inside which the interpreter decides.
frame.py, aggregate.py, builtins.py, ledger.py and requires.py all build on this module.
"""
from __future__ import annotations

from decimal import Decimal

import attrs
import polars as pl

from kamrules.core import ir
from kamrules.core.calendar import period_of
from kamrules.core.limits import MAX_DATE, MIN_DATE
from kamrules.core.numeric import CONTEXT, EXACT_PLACES, GUARD_PLACES, Fallback, compute, quantize  # noqa: F401 (Fallback: shared)

DEC = pl.Decimal(38, EXACT_PLACES)
MAX_DAYS = (MAX_DATE - MIN_DATE).days  # no day count beyond this lands inside the calendar
PLACES = EXACT_PLACES
SNAP = GUARD_PLACES  # one constant with the interpreter's snap (money.py)
MARGIN = Decimal("1e-8")  # an approximate value closer than this to a boundary: the interpreter decides
NUMERIC = ("money", "number", "rate", "count")
ZERO = Decimal(0)


class Unsupported(Exception):
    """The plan uses something the columnar engine does not translate (the run uses the
    interpreter)."""

    def __init__(self, what: str, node=None):
        span = getattr(node, "span", None)
        super().__init__(f"{what} (line {span.line})" if span is not None and span.line else what)


@attrs.define
class Col:
    expr: pl.Expr
    err: pl.Expr | None
    kind: str
    nullable: bool = False
    approx: bool = False  # may come from a non-terminating division (module doc)
    replay: tuple | None = None  # (exprs, fn): fn(*their values) is the interpreter's value (Replay)
    places: int | None = None  # at most this many decimal places, known from the plan (literals)


@attrs.define
class PeriodRef:
    chain: tuple  # attributes from the calculation period: (), ("quarter",), ("year",)...


@attrs.define(eq=False)
class Rows:
    table: str
    conds: tuple
    base: "Rows | None" = None  # the rowset this one filters further (a `let` of rows)


def dec(value) -> pl.Expr:
    value = Decimal(value)
    exp = value.as_tuple().exponent
    if isinstance(exp, int) and exp < -PLACES:
        raise Unsupported(f"the number {value} has more than {PLACES} decimal places")
    return pl.lit(value, dtype=DEC)


def period_key(p) -> str:
    return f"{p.kind}:{p.start.isoformat()}"


def any_error(*errs):
    """Where any of the error masks holds (None: no error possible)."""
    errs = [e for e in errs if e is not None]
    if not errs:
        return None
    out = errs[0]
    for e in errs[1:]:
        out = out | e
    return out


def error_when(cond, err):
    """The error mask `err`, only where `cond` holds (a branch not taken does not count)."""
    return None if err is None else (cond & err)


def null_error(c: Col):
    """Where an empty value reaches a calculation (KR406), plus c's own errors."""
    return any_error(c.err, c.expr.is_null() if c.nullable else None)


def snap(c: Col) -> pl.Expr:
    """c's value as comparisons and rounding see it: an approximate value rounded to SNAP
    places (money.snap), an exact one as it is."""
    return c.expr.round(SNAP, mode="half_to_even") if c.kind in NUMERIC and c.approx else c.expr


def near(x: pl.Expr, y: pl.Expr, exactly: bool = False) -> pl.Expr:
    """Where x is within MARGIN of y but not on it (or on it too, `exactly`): a comparison
    of an approximate value there is the interpreter's to decide."""
    d = (x - y).abs()
    close = d < dec(MARGIN)
    return (close if exactly else close & (d != dec(0))).fill_null(False)


def exact_product(a: pl.Expr, b: pl.Expr, pa: int | None = None, pb: int | None = None) -> pl.Expr:
    """Where a * b surely has at most PLACES places (so Decimal(38, 24) holds it exactly):
    a has at most k places and b at most PLACES - k, for a few k (or for the k known from
    the plan: pa, pb, a's and b's places when known)."""
    if pa is not None and pb is not None and pa + pb <= PLACES:
        return pl.lit(True)
    if pa is not None or pb is not None:
        known, other = (pa, b) if pa is not None else (pb, a)
        return (other.round(PLACES - min(known, PLACES)) == other).fill_null(True)
    ok = pl.lit(False)
    for k in (0, 2, 4, 12, 20, 22, PLACES):
        ok = ok | ((a.round(k) == a) & (b.round(PLACES - k) == b))
    return ok.fill_null(True)


def places_of(value: Decimal) -> int:
    """The decimal places of a literal."""
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def near_rounding(x: pl.Expr, step: Decimal, mode: str) -> pl.Expr:
    """Where x is within MARGIN of a boundary of round(x, step, mode) but not on it."""
    exp = step.as_tuple().exponent
    if step == Decimal(1).scaleb(exp) and isinstance(exp, int) and -PLACES <= exp <= 0:
        # a power of ten: x's distance to its nearest multiple of step, exact (no division)
        r = (x - x.round(-exp)).abs()
        gap = (r - dec(step / 2)).abs() if mode.startswith("half") else r
        return ((gap < dec(MARGIN)) & (gap != dec(0))).fill_null(False)
    units = x / dec(step)
    frac = units - units.floor()
    if mode.startswith("half"):
        gap = (frac - dec(Decimal("0.5"))).abs()
    else:
        gap = pl.min_horizontal(frac, dec(1) - frac)
    gap = gap * dec(step)
    return ((gap < dec(MARGIN)) & (gap != dec(0))).fill_null(False)


def rounded(c: Col, step: Decimal, mode: str) -> Col:
    """round(c, step, mode) as a Col: exact (decided_round)."""
    expr, err = decided_round(c, step, mode)
    return Col(expr, err, c.kind)


# Replay: an approximate value is computed on columns to 24 places; where that is too close to
# a rounding step to round it surely, the value is computed again for those rows only, in
# Python, with numeric.compute on the exact operands the quotient came from: the
# interpreter's arithmetic, so the rounding is the interpreter's by construction.

def _same(v):
    return v


def _exact(v):
    """A cell of a numeric column as the interpreter holds it (no trailing zeros)."""
    return CONTEXT.normalize(v) if isinstance(v, Decimal) else v


def replay_of(c: Col):
    """(exprs, fn) giving c's value as the interpreter computes it, or None (an approximate
    value whose operations are not replayed)."""
    if c.replay is not None:
        return c.replay
    return None if c.approx else ((c.expr,), _same)


def replay_op(op: str, a: Col, b: Col):
    """The replay of a op b (+ - * /), or None."""
    ra, rb = replay_of(a), replay_of(b)
    if ra is None or rb is None:
        return None
    n, fa, fb = len(ra[0]), ra[1], rb[1]

    def fn(*v):
        return compute(op, fa(*v[:n]), fb(*v[n:]))
    return ra[0] + rb[0], fn


def decided_round(c: Col, step: Decimal, mode: str):
    """(round(c, step, mode), its error mask). An approximate value within MARGIN of a
    boundary is rounded by its replay on those rows (an error of the Col only where it has
    no replay or the replay fails: the interpreter then decides those payees)."""
    base = round_expr(snap(c), step, mode)
    err = null_error(c)
    if not c.approx:
        return base, err
    doubt = near_rounding(c.expr, step, mode)
    rp = replay_of(c)
    if rp is None:
        return base, any_error(err, doubt)
    exprs, fn = rp

    def fix(s: pl.Series) -> pl.Series:
        fields = s.struct.unnest()
        idx = fields["d"].arg_true()
        out = fields["v"]
        if idx.len() == 0:
            return out
        args = [fields[f"a{k}"] for k in range(len(exprs))]
        vals = []
        for i in idx.to_list():
            try:
                vals.append(quantize(fn(*(_exact(a[i]) for a in args)), step, mode))
            except (ArithmeticError, TypeError):  # the interpreter stops there: its diagnostic
                vals.append(None)
        return out.cast(DEC).scatter(idx, pl.Series(vals, dtype=DEC))
    fixed = pl.struct(doubt.alias("d"), base.cast(DEC).alias("v"),
                      *[e.alias(f"a{k}") for k, e in enumerate(exprs)]).map_batches(
        fix, return_dtype=DEC, is_elementwise=True)
    return fixed, any_error(err, doubt & fixed.is_null())


def truth(c: Col) -> pl.Expr:
    return c.expr.fill_null(False)


def conjuncts(cond) -> list:
    if isinstance(cond, ir.BinOp) and cond.op == "and":
        return conjuncts(cond.left) + conjuncts(cond.right)
    return [cond]


def period_starts(s: pl.Series, kind: str, fiscal: int) -> pl.Series:
    """The start date of the `kind` period each date of s falls in (each distinct date
    converted once): the join key of `date in period` (a Date, lighter than a text key)."""
    uniq = s.drop_nulls().unique().to_list()
    mapping = {d: period_of(d, kind, fiscal).start for d in uniq}
    return s.replace_strict(mapping, default=None, return_dtype=pl.Date)


def round_expr(x: pl.Expr, step: Decimal, mode: str) -> pl.Expr:
    """x rounded to a multiple of step with the named mode (money.quantize on columns)."""
    exp = step.as_tuple().exponent
    if step == Decimal(1).scaleb(exp) and isinstance(exp, int) and -PLACES <= exp <= 0:
        places = -exp
        if mode == "half_even":
            return x.round(places, mode="half_to_even")
        if mode == "half_up":
            return x.round(places, mode="half_away_from_zero")
        scale, units = dec(Decimal(1).scaleb(places)), None
        units = x * scale
        return _round_units(units, mode) / scale
    units = x / dec(step)
    return _round_units(units, mode) * dec(step)


def _round_units(u: pl.Expr, mode: str) -> pl.Expr:
    half = dec(Decimal("0.5"))
    if mode == "half_even":
        return u.round(0, mode="half_to_even")
    if mode == "half_up":
        return u.round(0, mode="half_away_from_zero")
    if mode == "half_down":
        return u.sign() * (u.abs() - half).ceil()
    if mode == "down":
        return u.sign() * u.abs().floor()
    if mode == "up":
        return u.sign() * u.abs().ceil()
    if mode == "floor":
        return u.floor()
    if mode == "ceiling":
        return u.ceil()
    raise Unsupported(f"the rounding mode {mode}")


class Ctx:
    """Where an expression is translated: the frame (table None) or the rows of `table`
    joined with the frame; decision parameters in scope."""

    def __init__(self, table: str | None = None, params: dict | None = None, builder=None):
        self.table, self.params, self.builder = table, params or {}, builder

    def with_params(self, params: dict) -> "Ctx":
        return Ctx(self.table, {**self.params, **params}, self.builder)

    def assignee_column(self, frame, account: pl.Expr, role: str, day: pl.Expr) -> str:
        if self.builder is None:
            raise Unsupported("assignee() outside a filter over rows")
        return self.builder.assignee(frame, account, role, day)
