"""The built-ins that read more than one payee-period row or another table, on the frame:
`team_total(x)` (a window sum over the eligible payees of a team in the period),
`share(total, weight)` (the interpreter's largest-remainder allocation, once per pool),
`one(rows)` (the row itself: its row number, then `.column` joins the table on it),
`fx(amount, "CUR", day)` (an as-of join on `fx_rates`) and `prorate(start, end)` (day
arithmetic on the calculation period).

Each gives a `Col` with the interpreter's value and, as its errors, where the interpreter
would stop (an empty value, a pool whose total is not one value, no rate, not exactly one
row): the caller hands those payee-periods to the interpreter (frame.Fallback), which gives
the diagnostic. An allocation whose approximate weights put a cent or the order of two
remainders within their error bounds of a boundary is handed over the same way
(core.numeric.allocation_in_doubt).
"""
from __future__ import annotations

from decimal import Decimal

import attrs
import polars as pl

from kamrules.core.fxrates import FX_CHECK, rate_problem
from kamrules.backends.interp.hierarchy import Hierarchy, HierarchyError
from kamrules.core import ir
from kamrules.core.numeric import BOUND_CAP, STEP_ERROR, Fallback, Money, allocate, allocation_in_doubt
from kamrules.backends.polars.values import (DEC, NUMERIC, Col, Ctx, Rows, Unsupported, any_error, bound_of,
                                             bound_op, bound_sum, times, dec, error_when, exact_product, null_error,
                                             replay_op)


@attrs.define
class OneRow:
    """The value of `one(rows)`: the frame column holding the one row's number (`__row`) in
    `table`, and where there is not exactly one row (the interpreter's KR405)."""
    table: str
    row: str
    err: pl.Expr | None


def _on_frame(frame, node, ctx, what: str):
    if ctx.table is not None:
        raise Unsupported(f"{what} inside a filter or a per-row expression", node)
    if "__elig" not in frame.columns:
        raise Unsupported(f"{what} in the eligibility condition", node)


def _value(frame, node, ctx) -> Col:
    v = frame.ev(node, ctx)
    if not isinstance(v, Col):
        raise Unsupported("rows or a period where a value is expected", node)
    return v


# ------------------------------------------------------------------ pools
def _pool(frame, node, ctx, default: str | None):
    """(the frame column naming each payee's pool, where the pool cannot be told): the value
    of `by EXPR` (an empty value is a pool too), else `default` (None: one pool per period).
    As in the interpreter, `by` is computed for every eligible payee of the period, so one
    that fails stops the whole period."""
    if node.by is None:
        return (default or frame.fresh("pool.")), None
    by = frame.materialize(_value(frame, node.by, ctx))
    if by.approx:
        raise Unsupported("a `by` value computed approximately", node)
    name = by.expr.meta.output_name()
    if by.err is None:
        return name, None
    return name, (pl.col("__elig") & by.err).any().over("__pkey")


# ------------------------------------------------------------------ team_total
def team_total(frame, node, ctx) -> Col:
    """x summed over the eligible payees of the payee's team (or of its `by` pool; an empty
    team value is a team too), in the same period; an empty or failing x of one member
    stops every member whose team_total is read (KR406)."""
    _on_frame(frame, node, ctx, "team_total()")
    group, by_err = _pool(frame, node, ctx, "payee.team")
    x = frame.materialize(_value(frame, node.args[0], ctx))
    keys = ["__pkey", group]
    elig = pl.col("__elig")
    name = frame.fresh("team.")
    frame.add(name, pl.when(elig).then(x.expr).otherwise(dec(0)).sum().over(keys).cast(DEC))
    bound = None
    if x.approx:  # the team's sum: the members' bounds added
        frame.add(name + "~", bound_sum(pl.when(elig).then(bound_of(x)).otherwise(dec(0)).sum().over(keys).cast(DEC)))
        bound = pl.col(name + "~")
    bad = (elig & any_error(x.err, x.expr.is_null()).fill_null(True)).any().over(keys)
    if by_err is not None:
        bad = bad | by_err
    frame.add(name + "!", bad)
    has_err = bool(frame.df.select(pl.col(name + "!").any()).item())
    kind = node.type.kind
    return Col(pl.col(name), pl.col(name + "!") if has_err else None, kind, approx=x.approx, bound=bound)


# ------------------------------------------------------------------ prorate
def prorate(frame, node, ctx) -> Col:
    """The fraction of the calculation period's days from max(start, period start) to
    min(end, period end), both days counted; an empty start or end is the period's."""
    if ctx.table is not None:
        raise Unsupported("prorate() inside a filter or a per-row expression", node)
    start, end = (_value(frame, a, ctx) for a in node.args)
    ps, pe = pl.col("__pstart"), pl.col("__pend")
    lo = pl.when(start.expr.is_null()).then(ps).otherwise(pl.max_horizontal(ps, start.expr))
    hi = pl.when(end.expr.is_null()).then(pe).otherwise(pl.min_horizontal(pe, end.expr))
    total = (pe - ps).dt.total_days() + 1
    active = pl.max_horizontal(pl.lit(0, dtype=pl.Int64), (hi - lo).dt.total_days() + 1)
    num, den = (Col(v.cast(pl.Int64).cast(DEC), None, "number") for v in (active, total))
    value = num.expr / den.expr
    return Col(value, any_error(start.err, end.err), "rate", approx=True, bound=bound_op("/", num, den, value),
               replay=replay_op("/", num, den))  # the interpreter's Decimal(active) / Decimal(total)


# ------------------------------------------------------------------ fx
def fx(frame, node, ctx) -> Col:
    """amount converted at the latest `fx_rates` rate on or before the day (the first such
    row of the file when a day has several); no rate is the interpreter's KR405."""
    amount_node, cur_node, day_node = node.args
    plan = frame.plan
    target = getattr(cur_node, "value", plan.currency)  # fx(x, payee.COLUMN, day): the plan's
    per_payee = plan.currency.startswith("payee.")  # then every code is read per row (`to`)
    if target != plan.currency and not per_payee:
        raise Unsupported("fx() to another currency than the plan's", node)
    source = amount_node.type.currency or plan.currency
    to = _value(frame, cur_node, ctx).expr if per_payee else pl.lit(target)  # each payee's code
    frame.foreign += 1
    try:
        amount = _value(frame, amount_node, ctx)
    finally:
        frame.foreign -= 1
    day = _value(frame, day_node, ctx)
    empty = any_error(amount.err, day.err, amount.expr.is_null() | day.expr.is_null())
    if source == target:
        return Col(amount.expr, empty, "money", approx=amount.approx, bound=amount.bound)
    if "fx_rates" not in frame.aggs:  # the whole file, once (core.fxrates)
        frame.aggs["fx_rates"] = rate_problem("fx_rates", frame.frames["fx_rates"].select(FX_CHECK).iter_rows())
    if frame.aggs["fx_rates"]:
        raise Fallback("fx_rates: two rates for a day, or one not above 0")  # the interpreter's KR420
    rates = (frame.frames["fx_rates"]
             .filter((pl.col("from") == source) & (pl.lit(per_payee) | (pl.col("to") == target)))
             .select(pl.col("date").alias("__day"), pl.col("to").alias("__to"), pl.col("rate").alias("__rate"),
                     "__row"))
    if rates.select(pl.col("__day").is_null().any() | pl.col("__rate").is_null().any()).item():
        raise Unsupported("fx_rates rows with an empty date or rate", node)
    rates = rates.sort("__day", "__row").unique(["__to", "__day"], keep="first", maintain_order=True).drop("__row")
    owner = frame if ctx.table is None else ctx.builder
    if owner is None:
        raise Unsupported("fx() here", node)
    missing = [n for n in to.meta.root_names() if n not in owner.df.columns]
    if missing and "__f" not in owner.df.columns:
        # the payee's code is a frame column: this value reads the frame, so the aggregate
        # pairs the rows with the frame rows (aggregate._aggregate_keyed) and asks again
        return Col(to.cast(DEC) * amount.expr, empty, "money")
    if missing:  # rows paired with their frame row (`__f`): the payee's code beside each
        owner.df = owner.df.join(frame.df.select("__f", *missing), on="__f", how="left", maintain_order="left")
    name = frame.fresh("fx.")
    days = owner.df.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i"), day.expr.alias("__day"),
                           to.cast(pl.String).alias("__to"))
    hits = (days.drop_nulls("__day").sort("__day")
            .join_asof(rates, on="__day", by="__to", strategy="backward", check_sortedness=False))  # both by day
    found = days.select("__i", "__to").join(hits.select("__i", "__rate"), on="__i", how="left",
                                            maintain_order="left").select(  # paid in the amount's currency: as is
        pl.when(pl.col("__to") == source).then(pl.lit(1).cast(DEC)).otherwise(pl.col("__rate").cast(DEC)))
    owner.df = owner.df.with_columns(found.to_series().alias(name))
    rate = pl.col(name)
    err = any_error(empty, rate.is_null())
    if not amount.approx:  # the interpreter multiplies exactly: more than 24 places is its to do
        err = any_error(err, ~exact_product(amount.expr, rate))
    value = amount.expr * rate
    return Col(value, err, "money", approx=amount.approx,
               bound=bound_op("*", amount, Col(rate, None, "number"), value))


# ------------------------------------------------------------------ one(rows)
def one_row(frame, node, ctx) -> OneRow:
    if ctx.table is not None:
        raise Unsupported("one(rows) inside a filter or a per-row expression", node)
    key = ("one_row", node.uid)
    if key not in frame.aggs:
        rows = frame.ev(node.args[0], Ctx())
        if not isinstance(rows, Rows):
            raise Unsupported("one() of something else than rows", node)
        from kamrules.backends.polars.aggregate import aggregate
        found = aggregate(frame, node, row_value=True)
        frame.aggs[key] = OneRow(rows.table, found.expr.meta.output_name(), found.err)
    return frame.aggs[key]


def row_field(frame, row: OneRow, attr_node, resolved) -> Col:
    """`.column` (or `.id`) of the row one(rows) found: the table joined on the row number."""
    spec = frame.plan.inputs[row.table]
    if resolved[0] == "row_id":
        column, kind, optional = "__id", "text", False
    else:
        column = attr_node.name
        cspec = spec.columns[column]
        kind, optional = cspec.type.kind, cspec.optional
        if kind == "period":
            raise Unsupported("a Period column of a row", attr_node)
        if kind == "money" and cspec.type.currency not in (None, frame.plan.currency) and not frame.foreign:
            raise Unsupported("an amount in another currency", attr_node)
    name = f"{row.row}.{column}"
    if name not in frame.columns:
        src = frame.frames[row.table].select(pl.col("__row").alias("__lk"), pl.col(column).alias(name))
        found = frame.df.select(pl.col(row.row).cast(pl.Int64).alias("__lk")).join(
            src, on="__lk", how="left", maintain_order="left")
        frame.df = frame.df.with_columns(found[name])
    return Col(pl.col(name), row.err, kind, optional)


def row_value(frame, obj_node, ctx):
    """The OneRow an attribute's object is (a `let` of one(rows), or one(rows) itself),
    else None."""
    if isinstance(obj_node, ir.Call) and obj_node.func == "one" and not isinstance(obj_node.args[0], ir.Each):
        return one_row(frame, obj_node, ctx)
    if isinstance(obj_node, ir.Name):
        r = frame.ref(obj_node)
        if r is not None and r[0] == "def" and frame.plan.definitions[r[1]].type.kind == "row":
            d = frame.plan.definitions[r[1]]
            return one_row(frame, d.node.expr, Ctx()) if _is_one_rows(d.node.expr) else None
    return None


def _is_one_rows(node) -> bool:
    return isinstance(node, ir.Call) and node.func == "one" and not isinstance(node.args[0], ir.Each)


# ------------------------------------------------------------------ reporting lines
def _hierarchy(frame) -> Hierarchy:
    h = frame.aggs.get("reports_to")
    if h is None:
        df = frame.frames["reports_to"]
        h = Hierarchy.of("reports_to", zip(*(df[c].to_list() for c in (
            "__row", "payee_id", "manager_id", "start_date", "end_date"))))
        try:
            h.validate()
        except HierarchyError:
            h = None  # the file is wrong: every use is the interpreter's to report
        frame.aggs["reports_to"] = h
    return h


def _reporting(frame, node, ctx, method: str, kind: str, dtype) -> Col:
    """manager_of()/below(): the interpreter's own functions (interp.hierarchy) on each
    distinct argument tuple; a tuple where they stop (two managers, a cycle) is an error."""
    args = [_value(frame, a, ctx) for a in node.args]
    h = _hierarchy(frame) if "reports_to" not in frame.aggs else frame.aggs["reports_to"]
    if h is None:
        return Col(pl.lit(None, dtype), pl.lit(True), kind, kind == "text")
    fn = getattr(h, method)

    def apply(s: pl.Series) -> pl.Series:
        cache: dict = {}
        values, errors = [], []
        for t in s.to_list():
            key = tuple(t.values())
            if key not in cache:
                try:
                    cache[key] = (fn(*key), False)
                except HierarchyError:
                    cache[key] = (None, True)
            values.append(cache[key][0])
            errors.append(cache[key][1])
        return pl.DataFrame({"v": values, "e": errors}, schema={"v": dtype, "e": pl.Boolean}).to_struct(s.name)

    packed = pl.struct([a.expr.alias(f"a{i}") for i, a in enumerate(args)]).map_batches(
        apply, return_dtype=pl.Struct({"v": dtype, "e": pl.Boolean}))
    return Col(packed.struct.field("v"), any_error(*(a.err for a in args), packed.struct.field("e")),
               kind, kind == "text")


def manager_of(frame, node, ctx) -> Col:
    return _reporting(frame, node, ctx, "manager_of", "text", pl.String)


def below(frame, node, ctx) -> Col:
    return _reporting(frame, node, ctx, "below", "bool", pl.Boolean)


# ------------------------------------------------------------------ marginal curves
def marginal(frame, dec_node, x: Col, ctx, arg_err) -> Col:
    """A marginal curve at x (the interpreter's `marginal`): the sum over the rows of the
    part of x inside the row's range times the row's rate, exact (a product beyond the
    frame's places is the interpreter's, as in `*`)."""
    total, errs, fuzzy = dec(0), [arg_err], x.approx
    slopes, exact, rates_approx = dec(0), pl.lit(True), False  # the curve is continuous, of slope sum(|rate|) at most
    for row in dec_node.rows:
        cell = row.cells[0]
        lo = frame.ev(cell.lo, ctx)
        top = x.expr
        if cell.kind == "range":
            hi = frame.ev(cell.hi, ctx)
            top = pl.when(x.expr < hi.expr).then(x.expr).otherwise(hi.expr)
        part = pl.when(x.expr > lo.expr).then(top - lo.expr).otherwise(dec(0))
        rate = frame.ev(row.output, ctx)
        fuzzy, rates_approx = fuzzy or rate.approx, rates_approx or rate.approx
        errs += [rate.err, error_when(x.expr > lo.expr, null_error(rate))]
        if not fuzzy:
            errs.append(~exact_product(part, rate.expr))
        total = total + pl.when(x.expr > lo.expr).then(part * rate.expr).otherwise(dec(0))
        slopes = slopes + rate.expr.abs()
        exact = exact & exact_product(part, rate.expr)
    bound = None
    if fuzzy and not rates_approx:
        # an approximate x moves the value by at most its bound times the slopes; each
        # product rounds at most once (a row's choice does not matter: the curve is continuous)
        ex = bound_of(x)
        rounding = dec(STEP_ERROR * len(dec_node.rows))
        bound = pl.when((ex == dec(0)) & exact).then(dec(0)).otherwise(
            bound_sum(times(slopes, ex), pl.when(exact).then(dec(0)).otherwise(rounding)))
    return Col(total.cast(DEC), any_error(*errs), x.kind if x.kind != "count" else "number", approx=fuzzy,
               bound=bound)


# ------------------------------------------------------------------ share
def share(frame, node, ctx) -> Col:
    """This payee's share of the pool (the eligible payees of the period), allocated by
    the interpreter's own `allocate` on the pool's values. A period whose pool cannot be
    split as the interpreter would (a total that is not one value, an empty total, a
    weight that fails, an approximate weight too close to a decision) is an error of every
    payee-period in it."""
    _on_frame(frame, node, ctx, "share()")
    key = ("share", node.uid)
    if key in frame.aggs:
        return frame.aggs[key]
    group, by_err = _pool(frame, node, ctx, None)
    total, weight = (frame.materialize(_value(frame, a, ctx)) for a in node.args)
    if total.kind != "money" or weight.kind not in NUMERIC:
        raise Unsupported("share() of these values", node)
    fuzzy = total.approx or weight.approx
    elig = pl.col("__elig")
    pool = frame.df.select(
        "__f", "__payee", "__pkey", elig.alias("e"), total.expr.alias("t"), weight.expr.alias("w"),
        (any_error(total.err, total.expr.is_null()) if total.err is not None else total.expr.is_null())
        .fill_null(True).alias("te"),
        (weight.err if weight.err is not None else pl.lit(False)).fill_null(True).alias("we"),
        (pl.col(group) if node.by is not None else pl.lit(True)).alias("g"),
        *[(bound_of(c) if c.approx else dec(0)).alias(n) for c, n in ((total, "tb"), (weight, "wb"))],
        (by_err if by_err is not None else pl.lit(False)).fill_null(True).alias("ge"))
    currency = frame.plan.currency
    out_f, out_v, bad_f = [], [], []
    for _, whole in pool.group_by("__pkey", "g", maintain_order=True):
        part = whole.filter(pl.col("e"))
        if part.is_empty():
            continue
        if (part.select(pl.col("te").any() | pl.col("we").any() | pl.col("ge").any()).item()
                or part["t"].n_unique() > 1):
            bad_f.extend(whole["__f"].to_list())
            continue
        weights = dict(zip(part["__payee"].to_list(), part["w"].to_list()))
        amount = part["t"][0]
        if fuzzy and allocation_in_doubt(amount, weights, _bound(part["tb"].max()),
                                         dict(zip(part["__payee"].to_list(), map(_bound, part["wb"].to_list())))):
            bad_f.extend(whole["__f"].to_list())
            continue
        shares = allocate(Money(amount, currency), weights)
        out_f.extend(part["__f"].to_list())
        out_v.extend(shares[p].amount for p in part["__payee"].to_list())
    name = frame.fresh("share.")
    got = pl.DataFrame({"__f": out_f, name: out_v}, schema={"__f": pl.UInt32, name: DEC})
    joined = frame.df.select("__f").join(got, on="__f", how="left", maintain_order="left")
    frame.df = frame.df.with_columns(joined[name].fill_null(Decimal(0)).alias(name))
    err = None
    if bad_f:
        err = pl.col("__f").is_in(sorted(bad_f))
    if by_err is not None:
        err = any_error(err, by_err)
    result = Col(pl.col(name), err, "money")
    frame.aggs[key] = result
    return result


def _bound(b) -> Decimal:
    """An error bound for core.numeric (empty: none; BOUND_CAP: unbounded)."""
    if b is None:
        return Decimal(0)
    return b if b < BOUND_CAP else Decimal("Infinity")


CALLS = {"team_total": team_total, "share": share, "fx": fx, "prorate": prorate,
         "manager_of": manager_of, "below": below}
