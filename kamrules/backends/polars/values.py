"""The values of the columnar engine and their numeric rules: a plan value as a polars
expression with its error mask and, for an approximate value, its error bound (`Col`),
rows and period references, the evaluation context (`Ctx`), `Unsupported` (a plan it does
not translate), and the lowering of core.numeric's rules onto Decimal(38, 24) columns:
snapping approximate quotients to GUARD_PLACES, rounding in the plan's named modes
(core.numeric.ROUNDING_RULES), the error bounds of approximate values and the decisions
taken on them only where the whole interval lies on one side (core.numeric's error
bounds), else replayed exactly or handed to the interpreter.
frame.py, aggregate.py, builtins.py, ledger.py and requires.py all build on this module.
"""
from __future__ import annotations

from decimal import Decimal

import attrs
import polars as pl

from kamrules.core import ir
from kamrules.core.calendar import period_of
from kamrules.core.limits import MAX_DATE, MIN_DATE
from kamrules.core.numeric import (BOUND_CAP, CONTEXT, EXACT_PLACES, GUARD_PLACES, ROUNDING_RULES, SNAP_WIDTH,
                                   STEP_ERROR, compare, compute, places_of, quantize)

DEC = pl.Decimal(38, EXACT_PLACES)
MAX_DAYS = (MAX_DATE - MIN_DATE).days  # no day count beyond this lands inside the calendar
PLACES = EXACT_PLACES
SNAP = GUARD_PLACES  # one constant with the interpreter's snap (core.numeric.snap)
NUMERIC = ("money", "number", "rate", "count")
ZERO = Decimal(0)
# error bounds are Decimal(38, 24) columns too: each rounding of their own arithmetic is
# covered by STEP_ERROR, a few of them per operation
_SLACK = STEP_ERROR * 4


class Unsupported(Exception):
    """The plan uses something the columnar engine does not translate (the run uses the
    interpreter)."""

    def __init__(self, what: str, node=None):
        span = getattr(node, "span", None)
        self.what, self.span = what, span  # the construct and where it is written (support.py)
        self.line = span.line if span is not None and span.line else None
        super().__init__(f"{what} (line {span.line})" if self.line else what)


@attrs.define
class Col:
    expr: pl.Expr
    err: pl.Expr | None
    kind: str
    nullable: bool = False
    approx: bool = False  # may come from a non-terminating division (module doc)
    replay: tuple | None = None  # (exprs, fn): fn(*their values) is the interpreter's value (Replay)
    places: int | None = None  # at most this many decimal places, known from the plan (literals)
    bound: pl.Expr | None = None  # approx: a Float64 upper bound of |value - the interpreter's|
    # a quotient of exact values: (numerator, its places, ((divisor, its places), ...)), the
    # value is the numerator over the product of the divisors (ratio_round rounds it exactly)
    ratio: tuple | None = None


@attrs.define
class PeriodRef:
    chain: tuple  # attributes from the calculation period: (), ("quarter",), ("year",)...


@attrs.frozen
class PeriodConst:
    """A period written in the plan (`2025-12`, `2025-Q4`, `2025`), or an attribute of one
    (`2025-12.quarter`): the same period on every frame row."""
    period: object  # core.calendar.Period


@attrs.frozen
class PeriodKeys:
    """A Period column read through a key lookup (`extra[payee.id].target_period`): each frame
    row's period key (`kind:start`, empty where the cell is), and where the lookup fails."""
    expr: object  # pl.Expr
    err: object = None  # pl.Expr | None


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
    if value and value.adjusted() >= 38 - PLACES:  # beyond the columns: polars refuses it here
        return pl.lit(value, dtype=DEC)
    # from its digits: a Decimal object makes polars import numpy (0.1 s of every run's start)
    return pl.lit(format(value, "f")).cast(DEC)


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
    places (core.numeric.snap), an exact one as it is (so is a row whose error bound is 0:
    a quotient that terminates is exact for the interpreter too)."""
    if not (c.kind in NUMERIC and c.approx):
        return c.expr
    snapped = c.expr.round(SNAP, mode="half_to_even")
    return snapped if c.bound is None else pl.when(c.bound == dec(0)).then(c.expr).otherwise(snapped)


def exact_product(a: pl.Expr, b: pl.Expr, pa: int | None = None, pb: int | None = None) -> pl.Expr:
    """Where a * b surely has at most PLACES places (so Decimal(38, 24) holds it exactly):
    a has at most k places and b at most PLACES - k, for a few k (or for the k known from
    the plan: pa, pb, a's and b's places when known)."""
    if pa is not None and pb is not None and pa + pb <= PLACES:
        return pl.lit(True)
    if pa is not None or pb is not None:
        known, other = (pa, b) if pa is not None else (pb, a)
        return has_places(other, PLACES - min(known, PLACES)).fill_null(True)
    ok = pl.lit(False)
    for k in (0, 2, 4, 12, 20, 22, PLACES):
        ok = ok | (has_places(a, k) & has_places(b, PLACES - k))
    return ok.fill_null(True)


def has_places(x: pl.Expr, k: int) -> pl.Expr:
    """Whether x (a number) has at most k decimal places: `x.round(k) == x`, read on the
    integer of the Decimal(38, 24) (a multiple of 10^(24 - k)), cheaper than a rounding."""
    return x.cast(DEC).to_physical() % pl.lit(10 ** (PLACES - k), dtype=pl.Int128) == 0


def data_places(s: pl.Series) -> int | None:
    """The fewest places k (of a few) such that every value of the numeric column s has at most
    k decimal places (None: more than any of them, or not a number column)."""
    if s.dtype.is_integer():
        return 0
    if not isinstance(s.dtype, pl.Decimal) or s.dtype.scale > PLACES:
        return None
    values = s.drop_nulls()
    for k in (0, 2, 3, 4, 6, 8, 12, 16, PLACES):
        if values.to_frame("x").select(has_places(pl.col("x"), k).all()).item():
            return k
    return None


def most_places(*cols) -> int | None:
    """The places of a value that is one of the exact cols' values, or their sum: the most of
    theirs (None when one is unknown or approximate)."""
    if not cols or any(c.places is None or c.approx for c in cols):
        return None
    return max(c.places for c in cols)


def rounding_gap(x: pl.Expr, step: Decimal, mode: str) -> pl.Expr:
    """x's distance to the nearest value where round(x, step, mode) changes (a half-way point
    or a multiple of step: core.numeric.ROUNDING_RULES), exact for a power of ten step, else
    within STEP_ERROR x step (the division by the step is rounded: decided_round adds it)."""
    half = ROUNDING_RULES[mode][0] == "half"
    exp = step.as_tuple().exponent
    if step == Decimal(1).scaleb(exp) and isinstance(exp, int) and -PLACES <= exp <= 0:
        r = (x - x.round(-exp)).abs()
        return (r - dec(step / 2)).abs() if half else r
    units = x / dec(step)
    frac = units - units.floor()
    gap = (frac - dec(Decimal("0.5"))).abs() if half else pl.min_horizontal(frac, dec(1) - frac)
    return gap * dec(step)


# ------------------------------------------------------------------ error bounds
def bound_of(c) -> pl.Expr | None:
    """c's error bound (Col.bound): None for an exact value, BOUND_CAP (unbounded) for an
    approximate one whose bound is not known (then every decision on it is replayed or
    handed over)."""
    if not getattr(c, "approx", False):
        return None
    return c.bound if c.bound is not None else dec(BOUND_CAP)


def _up(e: pl.Expr) -> pl.Expr:
    """A bound rounded up for the roundings of its own arithmetic, capped at BOUND_CAP."""
    return pl.min_horizontal(e + dec(_SLACK), dec(BOUND_CAP))


def times(x: pl.Expr, e: pl.Expr) -> pl.Expr:
    """|x| * e for a bound e (<= BOUND_CAP) without leaving Decimal(38, 24): BOUND_CAP where
    the product may be that large."""
    ax = x.abs()
    ok = (ax <= dec(BOUND_CAP * 10)) | (e <= dec(1 / (BOUND_CAP * 10)))
    return pl.when(ok).then(pl.when(ok).then(ax).otherwise(dec(0)) * e).otherwise(dec(BOUND_CAP))


def bound_sum(*bounds) -> pl.Expr | None:
    """The bound of a sum or difference of values with these bounds (None: exact); no
    rounding (24 places +- 24 places is exact)."""
    got = [b for b in bounds if b is not None]
    if not got:
        return None
    out = got[0]
    for b in got[1:]:
        out = out + b
    return pl.min_horizontal(out, dec(BOUND_CAP)) if len(got) > 1 else out


def bound_op(op: str, a: Col, b: Col, result: pl.Expr) -> pl.Expr | None:
    """The error bound of a op b (+ - * /; `result` is its column value): core.numeric's rules."""
    ea, eb = bound_of(a), bound_of(b)
    if op in "+-":
        return bound_sum(ea, eb)
    if op == "*":
        if ea is None and eb is None:
            return None
        exact = exact_product(a.expr, b.expr, a.places, b.places)
        for e in (ea, eb):
            exact = exact if e is None else exact & (e == 0)
        terms = []
        if eb is not None:
            terms.append(times(a.expr, eb))
        if ea is not None:
            terms.append(times(b.expr, ea))
        if ea is not None and eb is not None:
            terms.append(ea * eb)
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return pl.when(exact).then(dec(0)).otherwise(_up(total))
    # a quotient of exact values (bounds 0) that terminates: exact (bound 0)
    ends = (exact_product(result, b.expr, None, b.places) & (result * b.expr == a.expr)).fill_null(False)
    if ea is None and eb is None:
        return pl.when(ends).then(dec(0)).otherwise(dec(STEP_ERROR))
    if eb is None:  # an exact divisor: |a / b| x 0 (empty with the quotient) and |b| - 0
        num = pl.when(result.is_not_null()).then(ea + dec(_SLACK))
        room = b.expr.abs()
        exact = ends & (ea == dec(0))
    else:
        ea = ea if ea is not None else dec(0)
        num = ea + times(result, eb) + dec(_SLACK)
        room = b.expr.abs() - eb
        exact = ends & (ea == dec(0)) & (eb == dec(0))
    ok = (room > dec(0)) & (num <= pl.min_horizontal(room, dec(1)) * dec(BOUND_CAP))  # else unbounded
    q = num / pl.when(ok).then(room).otherwise(dec(1))
    return pl.when(exact).then(dec(0)).when(ok).then(_up(q)).otherwise(dec(BOUND_CAP))


def bound_choice(cond: pl.Expr, a, b) -> pl.Expr | None:
    """The bound of `if cond then a else b` (the condition itself decided)."""
    ea, eb = bound_of(a), bound_of(b)
    if ea is None and eb is None:
        return None
    return pl.when(cond).then(ea if ea is not None else dec(0)).otherwise(eb if eb is not None else dec(0))


def bound_pick(a, b) -> pl.Expr | None:
    """The bound of min(a, b) or max(a, b): the interpreter chose on snapped values."""
    ea, eb = bound_of(a), bound_of(b)
    if ea is None and eb is None:
        return None
    return _up(pl.max_horizontal(ea if ea is not None else dec(0), eb if eb is not None else dec(0))
               + dec(SNAP_WIDTH))


def undecided(dist: pl.Expr, bound: pl.Expr | None) -> pl.Expr | None:
    """Where a decision whose boundary lies at `dist` (a Decimal column, >= 0) from the value
    is not sure: the error bound plus the interpreter's snapping reaches the boundary (None:
    an exact value, always sure; a bound of 0: a quotient that terminates, exact)."""
    if bound is None:
        return None
    return ((bound > dec(0)) & ((bound >= dec(BOUND_CAP)) | (dist <= bound + dec(SNAP_WIDTH)))).fill_null(False)


def compared(op: str, a: Col, b: Col) -> tuple:
    """(a op b for < <= > >= == != on numbers, where it is still undecided): the snapped
    comparison, its doubtful rows replayed with core.numeric.compare."""
    x, y = snap(a), snap(b)
    base = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y,
            "==": a.expr.eq_missing(b.expr), "!=": a.expr.ne_missing(b.expr)}[op]
    doubt = undecided((a.expr - b.expr).abs(), bound_sum(bound_of(a), bound_of(b)))
    if doubt is None:
        return base, None
    return replayed(base, doubt, replay_call(lambda u, v: compare(op, u, v), a, b), pl.Boolean)


def rounded(c: Col, step: Decimal, mode: str, keep=None) -> Col:
    """round(c, step, mode) as a Col: exact (decided_round)."""
    expr, err = decided_round(c, step, mode, keep)
    return Col(expr, err, c.kind, places=places_of(step))  # a multiple of the step


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


def replay_call(fn, *cols):
    """The replay of fn(*the cols' values) (core.numeric's rule on the interpreter's
    values), or None when one of them has none."""
    rs = [replay_of(c) for c in cols]
    if any(r is None for r in rs):
        return None
    exprs = tuple(e for r in rs for e in r[0])

    def call(*v):
        args, i = [], 0
        for ex, f in rs:
            args.append(f(*v[i:i + len(ex)]))
            i += len(ex)
        return fn(*args)
    return exprs, call


def replay_op(op: str, a: Col, b: Col):
    """The replay of a op b (+ - * /), or None."""
    return replay_call(lambda u, v: compute(op, u, v), a, b)


def replayed(base: pl.Expr, doubt: pl.Expr, rp, dtype, keep=None, value: pl.Expr | None = None) -> tuple:
    """(base with the rows where `doubt` holds computed again by the replay rp, where it is
    still undecided: no replay, or the replay fails and the interpreter stops there).
    keep(expr) -> expr, if given, computes the replayed value once (a frame column) for both.
    value: the value replayed, where base is empty when it is; its empty rows are not
    replayed (an empty operand: the replay fails there, so they stay undecided either way,
    without a call per row: a payee without a target is 2% of case 01's rows)."""
    if rp is None:
        return base, doubt
    exprs, fn = rp
    todo = doubt if value is None else doubt & value.is_not_null()

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
                vals.append(fn(*(_exact(a[i]) for a in args)))
            except (ArithmeticError, TypeError):  # the interpreter stops there: its diagnostic
                vals.append(None)
        return out.cast(dtype).scatter(idx, pl.Series(vals, dtype=dtype))
    fixed = pl.struct(todo.alias("d"), base.cast(dtype).alias("v"),
                      *[e.alias(f"a{k}") for k, e in enumerate(exprs)]).map_batches(
        fix, return_dtype=dtype, is_elementwise=True)
    if keep is not None:
        fixed = keep(fixed)
    return fixed, doubt & fixed.is_null()


def decided_round(c: Col, step: Decimal, mode: str, keep=None):
    """(round(c, step, mode), its error mask). An approximate value whose error bound reaches
    a boundary of the rounding is rounded by its replay on those rows (an error of the Col
    only where it has no replay or the replay fails: the interpreter then decides those
    payees)."""
    base = round_expr(snap(c), step, mode)
    err = null_error(c)
    if not c.approx:
        return base, err
    bound = bound_of(c)
    doubt = undecided(rounding_gap(c.expr, step, mode),
                      pl.when(bound == dec(0)).then(dec(0)).otherwise(bound + dec(max(step, Decimal(1)) * STEP_ERROR)))
    rp = replay_of(c)
    if rp is not None:
        exprs, fn = rp
        rp = exprs, lambda *v: quantize(fn(*v), step, mode)
    fixed, still = replayed(base, doubt, rp, DEC, keep, value=c.expr)
    return fixed, any_error(err, still)


def ratio_of(a: Col, b: Col) -> tuple | None:
    """Col.ratio of a / b: a exact with known places (or itself a ratio), b exact with known
    places; None otherwise."""
    if not (isinstance(a, Col) and isinstance(b, Col)) or b.approx or b.places is None \
            or a.kind not in NUMERIC or b.kind not in NUMERIC:
        return None
    if a.ratio is not None:
        num, pn, dens = a.ratio
        return num, pn, dens + ((b.expr, b.places),)
    if a.approx or a.places is None:
        return None
    return a.expr, a.places, ((b.expr, b.places),)


def _whole(x: pl.Expr, places: int) -> pl.Expr:
    """x (at most `places` places) times 10^places, as an Int128 (exact)."""
    return x.cast(DEC).to_physical() // pl.lit(10 ** (PLACES - places), dtype=pl.Int128)


def _constant_whole(x: pl.Expr, places: int) -> int | None:
    """_whole(x, places) as a Python int when x reads no column (a literal divisor), else
    None (also for an empty literal: the row-wise path keeps its null)."""
    if x.meta.root_names():
        return None
    value = pl.select(x.cast(DEC).to_physical().alias("v")).to_series()
    if value.len() != 1 or value[0] is None:
        return None
    return int(value[0]) // 10 ** (PLACES - places)


def _steps(step: Decimal) -> tuple:
    """(S, k): step = S / 10^k, S a whole number."""
    k = places_of(step)
    return int(step.scaleb(k)), k


def ratio_limits(ratio: tuple) -> list:
    """The expressions whose maxima ratio_fits reads: |numerator| and each |divisor|, as the
    integers of their Decimal(38, 24) (times 10^24: no division a row; ratio_fits divides
    the maxima, multiples of 10^(24 - places) as every value is)."""
    num, _, dens = ratio
    return [x.cast(DEC).to_physical().abs() for x in (num, *(d for d, _ in dens))]


def ratio_fits(ratio: tuple, maxima: list, step: Decimal) -> bool:
    """Whether ratio_round(ratio, step, ...) is the interpreter's rounding on every row, given
    the maxima of ratio_limits (of N, D1, D2..., whole: the value is N / 10^pn / prod(Di / 10^pdi)).

    The quotient is U / V with V dividing D x 10^(pn - pd) (D the product of the divisors'
    whole numbers, pd their places); a point where the rounding changes is a multiple of
    half the step, W / 10^(k+1). So where the quotient is not such a point it is at least
    1 / (D x 10^max(pn - pd, k + 1)) from every one of them: with that at least 10^-16
    (twice the interpreter's snap to GUARD_PLACES, far more than its 80-digit quotients'
    error), neither the snap nor those digits can cross or reach a point the exact quotient
    does not lie on, and where it lies on one, the interpreter's value snaps onto it (or is
    it, exact). The whole numbers must also stay within Int128."""
    if any(m is None for m in maxima):  # every row empty: nothing to round
        return True
    n_max, d_max, divisors = _ratio_sizes(ratio, maxima, step)
    num, pn, dens = ratio
    pd = sum(p for _, p in dens)
    _, k = _steps(step)
    return divisors * 10 ** max(pn - pd, k + 1) <= 10 ** SNAP and n_max < 10 ** 37 and d_max < 10 ** 37


def _ratio_sizes(ratio: tuple, maxima: list, step: Decimal) -> tuple:
    """(the largest |n|, the largest |d|) ratio_round computes with, and the largest
    product of the divisors' whole numbers D1 x D2..., from the maxima of ratio_limits:
    n = N x 10^max(e, 0), d = S x 10^max(-e, 0) x D1 x D2..."""
    num, pn, dens = ratio
    maxima = [m // 10 ** (PLACES - p) for m, p in zip(maxima, [pn] + [p for _, p in dens])]
    d_max = 1
    for m in maxima[1:]:
        d_max *= m
    pd = sum(p for _, p in dens)
    s, k = _steps(step)
    e = pd + k - pn
    return maxima[0] * 10 ** max(e, 0), d_max * s * 10 ** max(-e, 0), d_max


def ratio_width(ratio: tuple, maxima: list, step: Decimal):
    """The integer type ratio_round computes in: Int64 (a sixth of Int128's cost for a
    division) when every whole number it forms stays below 2^61 on the frame's values (the
    quotient's units times S are at most |n| + S), else Int128."""
    if any(m is None for m in maxima):
        return pl.Int64
    n_max, d_max, _ = _ratio_sizes(ratio, maxima, step)
    return pl.Int64 if max(n_max, d_max) < 2 ** 61 else pl.Int128


def ratio_round(ratio: tuple, step: Decimal, mode: str, width=pl.Int128) -> pl.Expr:
    """round(numerator / divisors, step, mode) exactly, on whole numbers (Int128, or Int64
    where ratio_width says they fit): the units of the step are a floor division and its
    remainder, rounded by core.numeric.ROUNDING_RULES (empty where an operand is; a zero
    divisor gives a value its error mask discards)."""
    num, pn, dens = ratio
    s, k = _steps(step)
    pd = sum(p for _, p in dens)
    e = pd + k - pn

    def whole(x, places):
        w = _whole(x, places)
        return w if width == pl.Int128 else w.cast(width)

    n = whole(num, pn) * pl.lit(10 ** max(e, 0), dtype=width)
    constant, columns = s * 10 ** max(-e, 0), []  # the divisors: literals multiplied here
    for x, p in dens:
        c = _constant_whole(x, p)
        if c is None:
            columns.append(whole(x, p))
        else:
            constant *= c
    if not columns:  # (`x / 12`: no test a row)
        n = pl.lit(0, dtype=width) - n if constant < 0 else n
        d = pl.lit(abs(constant) or 1, dtype=width)
    else:
        d = pl.lit(constant, dtype=width)
        for w in columns:
            d = d * w
        n = pl.when(d < 0).then(pl.lit(0, dtype=width) - n).otherwise(n)  # (Int128 has no negation)
        d = d.abs()
        d = pl.when(d == 0).then(pl.lit(1, dtype=width)).otherwise(d)
    q, r = n // d, n % d  # floor, 0 <= r < d
    where, way = ROUNDING_RULES[mode]
    if where == "whole":
        more = r > 0
        inc = {"down": pl.lit(False), "up": more, "toward": more & (n < 0), "away": more & (n > 0)}[way]
    else:
        tie = {"away": n > 0, "toward": n < 0, "even": q % 2 != 0}[way]
        inc = (2 * r > d) | ((2 * r == d) & tie)
    units = q + inc.cast(width)
    # units x S as Decimal(38, 0), times 10^-k: scale 24, exact (no cast of a number past DEC's range)
    return (units * pl.lit(s, dtype=width)).cast(pl.Decimal(38, 0)) * dec(Decimal(1).scaleb(-k))


def truth(c: Col) -> pl.Expr:
    return c.expr.fill_null(False)


def looked_up(plan, obj, ref):
    """The `table[key]` a `let` of one row names (`let t = targets[payee.id]`), else None:
    its fields are read as the lookup's (`t.x` is `targets[payee.id].x`)."""
    r = ref(obj) if isinstance(obj, ir.Name) else None
    if r is None or r[0] != "def":
        return None
    d = plan.definitions[r[1]]
    expr = getattr(d.node, "expr", None)
    return expr if d.type.kind == "row" and isinstance(expr, ir.Index) else None


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
    """x rounded to a multiple of step with the named mode (core.numeric.quantize on
    columns, lowered from core.numeric.ROUNDING_RULES)."""
    exp = step.as_tuple().exponent
    if step == Decimal(1).scaleb(exp) and isinstance(exp, int) and -PLACES <= exp <= 0:
        places = -exp
        if mode in _POLARS_HALF:
            return x.round(places, mode=_POLARS_HALF[mode])
        if mode == "down":  # toward zero: polars' truncate (a tenth of the cost of the units)
            return x.truncate(places)
        scale = dec(Decimal(1).scaleb(places))
        return _round_units(x * scale, mode) / scale
    return _round_units(x / dec(step), mode) * dec(step)


_POLARS_HALF = {"half_even": "half_to_even", "half_up": "half_away_from_zero"}  # polars' own modes


def _round_units(u: pl.Expr, mode: str) -> pl.Expr:
    """u rounded to a whole number: where the mode changes (half-way points or whole
    numbers) and which way it goes there (core.numeric.ROUNDING_RULES)."""
    if mode not in ROUNDING_RULES:
        raise Unsupported(f"the rounding mode {mode}")
    if mode in _POLARS_HALF:
        return u.round(0, mode=_POLARS_HALF[mode])
    where, way = ROUNDING_RULES[mode]
    if where == "half":  # half toward zero (half_down): the magnitude less a half, up
        return u.sign() * (u.abs() - dec(Decimal("0.5"))).ceil()
    if way == "toward":
        return u.sign() * u.abs().floor()
    if way == "away":
        return u.sign() * u.abs().ceil()
    return u.floor() if way == "down" else u.ceil()


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
