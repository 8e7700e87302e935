"""Aggregations on the columnar frame: `sum/count/exists/min/max/one/avg(... rows where ...)`
as a filter of the table, a join with the frame on the conjuncts that link a row to a
payee-period, and a group-by per frame row.

Conjuncts reading only the row (and rows of other tables looked up by a key of the row,
`accounts[account_id].parent_account_id`) filter the table first. `row_expr == frame_expr`
(either way round) and `date in period_expr` become join keys; `assignee(account, "role",
day)` is computed per row by matching the assignments table on the account and the day (two
assignments of one role on one day: the interpreter reports it), so `assignee(...) ==
payee.id` is a key join too. Anything else is checked on the joined rows. Every join of
rows with payee-periods is counted before it is made (`pairs`, recorded in frame.pairs) and
refused past limits.MAX_JOIN_PAIRS. With lineage on, the (frame row, data row, value) triples of every
aggregation are kept for the trace.
"""
from __future__ import annotations

import attrs
import polars as pl

from kamrules.core import ir
from kamrules.backends.interp.select import reads
from kamrules.core.limits import MAX_JOIN_PAIRS
from kamrules.core.numeric import BOUND_CAP, SNAP_WIDTH, STEP_ERROR, Fallback
from kamrules.backends.polars.values import DEC, Col, Ctx, PeriodRef, Rows, Unsupported, bound_of, period_starts, dec



class RowBuilder:
    """The rows of one table being filtered for an aggregation, with helper columns."""

    def __init__(self, frame, table: str, df=None):
        self.frame, self.table = frame, table
        self.df = frame.frames[table] if df is None else df

    def assignee(self, frame, account: pl.Expr, role: str, day: pl.Expr) -> str:
        asg = frame.frames.get("assignments")
        needed = {"account_id", "payee_id", "role", "start_date", "end_date"}
        if asg is None or not needed <= set(asg.columns):
            raise Unsupported("assignee() without an assignments table")
        name = frame.fresh("__assignee")
        rows = self.df.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i"),
                              account.alias("__acc"), day.alias("__day"))
        held, most = _held(frame, asg, role)
        # joined in the rows' order (__i ascending): a row held twice on its day is two
        # equal __i side by side, and one hit a row is the column itself (no group-by)
        joined = paired(frame, "assignments", rows, held.rename({"account_id": "__acc"}), ["__acc"],
                        lambda: rows.join(held, left_on="__acc", right_on="account_id", how="inner",
                                          maintain_order="left"), most)
        hits = joined.filter((pl.col("start_date") <= pl.col("__day"))
                             & (pl.col("end_date").is_null() | (pl.col("__day") <= pl.col("end_date")))
                             ).select("__i", "payee_id")
        at = hits["__i"]
        if at.len() > 1 and (at.diff().drop_nulls() == 0).any():
            raise Fallback("overlapping assignments")
        if at.len() == rows.height:  # every row held by someone on its day
            ids = hits["payee_id"]
        else:
            ids = rows.select("__i").join(hits, on="__i", how="left", maintain_order="left")["payee_id"]
        self.df = self.df.with_columns(ids.alias(name))
        return name

    def check(self, err):
        """Fallback when err holds on a row (the interpreter stops there)."""
        if err is not None and self.df.select(err.fill_null(False).any()).item():
            raise Fallback("a filter that fails on a row")

    def keep(self, col: Col):
        self.check(col.err)
        self.df = self.df.filter(col.expr.fill_null(False))


def _held(frame, asg, role: str) -> tuple:
    """(the assignments of `role`: account_id, payee_id, start_date, end_date; the most
    assignments of one account among them), once per role (assignee() of deals and of
    snapshots read the same)."""
    key = ("assignments", "held", role)
    if key not in frame.joins:
        held = asg.filter(pl.col("role") == role).select("account_id", "payee_id", "start_date", "end_date")
        most = held.group_by("account_id").agg(pl.len().alias("__b"))["__b"].max() or 0
        frame.joins[key] = (held, most)
    return frame.joins[key]


def _reads_row(frame, node) -> bool:
    """Does the expression read the filtered row (a depth-0 column)?"""
    stack = [node]
    while stack:
        x = stack.pop()
        r = frame.ref(x)
        if r is not None and r[0] == "column":
            return True
        if isinstance(x, ir.Each | ir.Where):
            return True  # nested rows: treated as row-reading (and rejected later)
        for field in ("left", "right", "expr", "obj", "cond", "then", "else_", "key"):
            child = getattr(x, field, None)
            if child is not None and not isinstance(child, str):
                stack.append(child)
        stack.extend(getattr(x, "args", ()) or ())
        stack.extend(getattr(x, "items", ()) or ())
    return False


def _frame_only(frame, node) -> bool:
    return not _reads_row(frame, node)


def aggregate(frame, node, row_value: bool = False) -> Col:
    """The aggregate as a frame column; with row_value, `one(rows)`'s row number (`__row`)."""
    fn = node.func
    arg = node.args[0]
    value_node, source = (arg.expr, arg.source) if isinstance(arg, ir.Each) else (None, arg)
    rows = frame.ev(source, Ctx())
    if not isinstance(rows, Rows):
        raise Unsupported(f"{fn}() of something else than rows", node)
    keyed = rows_keyed(frame, rows)
    if keyed is not None:
        done = _aggregate_keyed(frame, node, fn, value_node, rows, *keyed, row_value=row_value)
        if done is not None:
            return done
    joined = rows_joined(frame, rows)
    value = None
    if value_node is not None:
        builder = RowBuilder(frame, rows.table, joined)
        value = frame.ev(value_node, Ctx(rows.table, builder=builder))
        joined = builder.df
        if not isinstance(value, Col):
            raise Unsupported(f"{fn}() of rows or periods", node)
        joined = _with_frame_columns(frame, joined, [value.expr] + [e for e in (value.err, value.bound)
                                                                    if e is not None])
    elif row_value:
        value = Col(pl.col("__row"), None, "count")
    elif fn not in ("count", "exists"):
        raise Unsupported(f"{fn}() without a value (`{fn}(x for rows)`)", node)
    return _group(frame, node, fn, joined, value)


def _with_frame_columns(frame, joined, exprs):
    """joined plus the frame columns that exprs read and it lacks (by frame row)."""
    needed = set()
    for e in exprs:
        needed |= set(e.meta.root_names())
    missing = sorted(n for n in needed if n in frame.columns and n not in joined.columns)
    if missing:
        joined = joined.join(frame.read("__f", *missing), on="__f", how="left", maintain_order="left")
    return joined


def rows_joined(frame, rows: Rows):
    """The rows of `rows` paired with the frame rows (payee-periods) they belong to:
    the table's columns, `__f`, and the frame columns the conditions read. Cached per
    rowset, so `sum(x for won where type == "a")` and `... "b"` filter one join of `won`."""
    key = (rows.table,) + tuple(c.uid for c in rows.conds)
    hit = frame.joins.get(key)
    if hit is not None:
        return hit
    joined = None
    if rows.base is not None and rows.base.conds:
        extra = rows.conds[len(rows.base.conds):]
        if not any(_may_link(frame, c) for c in extra):
            builder = RowBuilder(frame, rows.table, rows_joined(frame, rows.base))
            ctx = Ctx(rows.table, builder=builder)
            for c in extra:
                col = frame.ev(c, ctx)
                builder.df = _with_frame_columns(frame, builder.df, [col.expr] + ([col.err] if col.err is not None else []))
                builder.keep(col)
            joined = builder.df
    if joined is None:
        joined = _join_fresh(frame, rows)
    frame.joins[key] = joined
    return joined


def rows_keyed(frame, rows: Rows):
    """(rows of the table that pass the row-only conjuncts, with key columns __k0...;
    the frame-side key expressions), or None when a conjunct must see the frame row
    (then the rows are joined to the frame instead). Cached per rowset."""
    key = ("keyed", rows.table) + tuple(c.uid for c in rows.conds)
    if key in frame.joins:
        return frame.joins[key]
    out = None
    if rows.base is not None and rows.base.conds and not any(_may_link(frame, c) for c in
                                                              rows.conds[len(rows.base.conds):]):
        base = rows_keyed(frame, rows.base)
        if base is not None:
            builder = RowBuilder(frame, rows.table, base[0])
            ctx = Ctx(rows.table, builder=builder)
            ok = True
            for c in rows.conds[len(rows.base.conds):]:
                if not (_reads_row(frame, c) and _only_row(frame, c)):
                    ok = False
                    break
                builder.keep(frame.ev(c, ctx))
            out = (builder.df, base[1]) if ok else None
    if out is None:  # every conjunct afresh: a link after the base's may still be a key
        out = _keyed_fresh(frame, rows)
    frame.joins[key] = out
    return out


def _keyed_fresh(frame, rows: Rows):
    if not all(_reads_row(frame, c) for c in rows.conds):
        return None
    builder = RowBuilder(frame, rows.table)
    links, residual = _classify(frame, rows, builder)
    if residual:
        return None
    table = builder.df.with_columns(*[r.alias(f"__k{i}") for i, (r, _) in enumerate(links)])
    return table, [f.alias(f"__k{i}") for i, (_, f) in enumerate(links)]


def _aggregate_keyed(frame, node, fn, value_node, rows, table, fkeys, row_value=False):
    """The aggregation grouped by the link keys on the table alone, then joined to the frame
    by key: no row is paired with a frame row. None when the value reads the frame."""
    value = None
    if value_node is not None:
        builder = RowBuilder(frame, rows.table, table)
        value = frame.ev(value_node, Ctx(rows.table, builder=builder))
        if not isinstance(value, Col):
            raise Unsupported(f"{fn}() of rows or periods", node)
        exprs = [value.expr] + [e for e in (value.err, value.bound) if e is not None]
        if any(n in frame.columns for e in exprs for n in e.meta.root_names()):
            return None
        table = builder.df
    elif row_value:
        value = Col(pl.col("__row"), None, "count")
    elif fn not in ("count", "exists"):
        raise Unsupported(f"{fn}() without a value (`{fn}(x for rows)`)", node)
    keys = [f"__k{i}" for i in range(len(fkeys))]
    aggs = _agg_exprs(fn, value)
    if keys:
        g = table.group_by(keys).agg(*aggs)
        out = _spread(frame, fkeys, keys, g)
        if out is None:
            out = frame.read(*fkeys).join(g, on=keys, how="left", maintain_order="left", nulls_equal=True)
    else:
        out = frame.read("__f").join(table.select(*aggs), how="cross")
    if frame.lineage is not None:
        v = [value.expr.alias("__v")] if value is not None else []
        pairs = table.select(*keys, "__row", *v)
        pairs = (frame.read("__f", *fkeys).join(pairs, on=keys, how="inner", nulls_equal=True)
                 if keys else frame.read("__f").join(pairs, how="cross"))
        frame.lineage.append((node, frame.current, pairs.select("__f", "__row", *["__v"] * bool(v))))
    return _finish(frame, node, fn, out, value)


_PERIOD_COLS = ("__pkey", "__pstart", "__pend")


def _side(frame, e: pl.Expr) -> str | None:
    """"payee" when the frame-side key e is a column of the payee (`payee.id`, `payee.x`),
    "period" when a column of the calculation period (its start, `period.year`...), else
    None."""
    if not e.meta.undo_aliases().meta.is_column():
        return None
    name = e.meta.root_names()[0]
    if name == "__payee" or name.startswith("payee."):
        return "payee"
    if name in _PERIOD_COLS or name.startswith("period."):
        return "period"
    return None


def _spread(frame, fkeys: list, keys: list, g):
    """The group-by result g (one row per key) as one row per frame row, in order, when
    every frame-side key reads only the payee or only the period: each g row is placed by
    its payee's rank (g joined with the payees' keys, a table of payees, not of
    payee-periods; every payee when no key reads the payee) and the rank of its period key
    among the distinct period keys of the calculation periods (a year's target is one key
    for twelve months: never repeated per month), in a table of payees x period keys; each
    frame row then reads its cell (frame row f: payee f // periods, calculation period
    f % periods). The same rows as the left join of the frame's keys with g (keys equal
    when both empty). None otherwise (the caller joins)."""
    sides = [_side(frame, f) for f in fkeys]
    if None in sides or frame.grid is None:
        return None
    n_payees, n_periods = frame.grid
    if frame.height != n_payees * n_periods or n_payees == 0:
        return None
    payee = [keys[i] for i, s in enumerate(sides) if s == "payee"]
    period = [keys[i] for i, s in enumerate(sides) if s == "period"]
    m = g.with_row_index("__g")
    if payee:
        own = frame.read(*[f for f, s in zip(fkeys, sides) if s == "payee"]).gather_every(n_periods)
        m = m.join(own.with_row_index("__pi"), on=payee, how="inner", nulls_equal=True)
    else:
        m = m.with_columns(pl.lit(0, dtype=pl.UInt32).alias("__pi"))
    if period:  # the distinct period keys, ranked; each calculation period's rank among them
        per = frame.read(*[f for f, s in zip(fkeys, sides) if s == "period"]).head(n_periods)
        distinct = per.unique(keep="first", maintain_order=True).with_row_index("__tr")
        rank_of = per.join(distinct, on=period, how="left", nulls_equal=True, maintain_order="left")["__tr"]
        m = m.join(distinct, on=period, how="inner", nulls_equal=True)
        width = distinct.height
    else:
        rank_of = pl.repeat(0, n_periods, dtype=pl.UInt32, eager=True)
        m = m.with_columns(pl.lit(0, dtype=pl.UInt32).alias("__tr"))
        width = 1
    cells = pl.repeat(None, (n_payees if payee else 1) * width, dtype=pl.UInt32, eager=True)
    if m.height:
        at = (m["__pi"].cast(pl.UInt64) * width + m["__tr"]).cast(pl.UInt32)
        cells = cells.scatter(at, m["__g"])
    where = cells.gather(_cell_of_rows(frame, width if payee else 0, width, rank_of))
    return g.drop(keys).select(pl.all().gather(where))


def _cell_of_rows(frame, stride: int, width: int, rank_of) -> pl.Series:
    """Each frame row's cell in a table of payees x `width` period keys: its payee's rank x
    stride (width; 0 when no key reads the payee) + its calculation period's key rank
    (`rank_of`); kept per (stride, ranks): the aggregations linked to the same periods read
    the same."""
    key = (stride, width, tuple(rank_of.to_list()))
    cached = frame.spread_cells.get(key)
    if cached is None:
        n_periods = frame.grid[1]
        f = pl.int_range(0, frame.height, dtype=pl.UInt32, eager=True)
        cached = frame.spread_cells[key] = (f // n_periods) * stride + rank_of.gather(f % n_periods)
    return cached


def _join_fresh(frame, rows: Rows):
    builder = RowBuilder(frame, rows.table)
    ctx = Ctx(rows.table, builder=builder)
    links, residual = _classify(frame, rows, builder)
    res_cols = [frame.ev(c, ctx) for c in residual]  # before: they may add helper columns
    table = builder.df
    fkeys = []
    for i, (row_expr, frame_expr) in enumerate(links):
        table = table.with_columns(row_expr.alias(f"__k{i}"))
        fkeys.append(frame_expr.alias(f"__k{i}"))
    exprs = [c.expr for c in res_cols] + [c.err for c in res_cols if c.err is not None]
    needed = set()
    for e in exprs:
        needed |= set(e.meta.root_names())
    fcols = ["__f"] + sorted(n for n in needed if n in frame.columns and n not in table.columns)
    fsel = frame.read(*fcols, *fkeys)
    on = [f"__k{i}" for i in range(len(links))]
    pairs(frame, rows.table, table, fsel, on)
    if links:
        joined = table.join(fsel, on=on, how="inner", nulls_equal=True).drop(on)
    else:
        joined = table.join(fsel, how="cross")
    for c in res_cols:
        if c.err is not None and joined.select(c.err.fill_null(False).any()).item():
            raise Fallback("a filter that fails on a row")
        joined = joined.filter(c.expr.fill_null(False))
    return joined


def pairs(frame, what: str, left, right, on: list) -> int:
    """How many (left row, right row) pairs joining on `on` gives (all of them without
    keys), counted before the join; recorded in frame.pairs. Past limits.MAX_JOIN_PAIRS the
    plan is not run columnar (Unsupported names the table), never joined."""
    if on:
        lc = left.group_by(on).agg(pl.len().alias("__a"))
        rc = right.group_by(on).agg(pl.len().alias("__b"))
        both = lc.join(rc, on=on, how="inner", nulls_equal=True)
        n = int(both.select((pl.col("__a").cast(pl.Int64) * pl.col("__b")).sum()).item() or 0)
    else:
        n = left.height * right.height
    frame.pairs.append((what, n))
    if n > MAX_JOIN_PAIRS:
        link = "that share a key" if on else "with no link to the payee or the period"
        raise Unsupported(f"{n:,} pairs of `{what}` rows and payee-periods {link} (more than "
                          f"{MAX_JOIN_PAIRS:,}: the join is refused)")
    return n


def paired(frame, what: str, left, right, on: list, join, most: int | None = None):
    """join() (the inner join of left and right on `on`), counted as pairs() counts it: when
    the left rows times the most right rows of one key (`most`, counted here unless given)
    cannot pass limits.MAX_JOIN_PAIRS, the join is made and its rows are the count (the same
    number, without counting each key's rows on both sides first); else pairs() counts, and
    refuses, before joining."""
    if most is None:
        most = right.group_by(on).agg(pl.len().alias("__b"))["__b"].max() or 0
    if left.height * most > MAX_JOIN_PAIRS:
        pairs(frame, what, left, right, on)
        return join()
    out = join()
    frame.pairs.append((what, out.height))
    return out


def _classify(frame, rows: Rows, builder: RowBuilder) -> tuple[list, list]:
    """Split the conjuncts: the ones that read only the row filter builder's table now;
    returns (join links, residual conjuncts to check on the rows paired with the frame)."""
    ctx = Ctx(rows.table, builder=builder)
    links, residual = [], []
    for c in rows.conds:
        if not _reads_row(frame, c):
            residual.append(c)  # reads no row: a frame condition, checked after the join
            continue
        link = _link(frame, c, ctx)
        if link is not None:
            links.append(link)
        elif _only_row(frame, c):
            builder.keep(frame.ev(c, ctx))
        else:
            residual.append(c)
    return links, residual


def _only_row(frame, c) -> bool:
    """Reads the row and nothing of the payee-period (constants allowed); a key lookup
    `table[key]` counts as what its key reads (a left join of the rows on the key)."""
    return reads(frame.plan, _lookups_as_keys(c), frame.ref) <= {"row"}


def _lookups_as_keys(node):
    """node with every `table[key]` replaced by `key` (for reads(): the lookup is a function
    of its key). Nodes off the path to a lookup are kept, so their resolution still holds."""
    if isinstance(node, ir.Index):
        return _lookups_as_keys(node.key)
    if not attrs.has(type(node)):
        return node
    changes = {}
    for f in attrs.fields(type(node)):
        v = getattr(node, f.name)
        if isinstance(v, tuple):
            new = tuple(_lookups_as_keys(x) for x in v)
            if any(a is not b for a, b in zip(new, v)):
                changes[f.name] = new
        elif attrs.has(type(v)):
            new = _lookups_as_keys(v)
            if new is not v:
                changes[f.name] = new
    return attrs.evolve(node, **changes) if changes else node


def _varies(frame, node) -> bool:
    """Does a frame-side expression depend on the payee-period (not a constant)?"""
    return bool(reads(frame.plan, node, frame.ref))


def _may_link(frame, c) -> bool:
    """Could conjunct c be a join key (static shape test, nothing computed)?"""
    if isinstance(c, ir.BinOp) and c.op in ("==", "in"):
        sides = ((c.left, c.right), (c.right, c.left)) if c.op == "==" else ((c.left, c.right),)
        return any(_reads_row(frame, r) and not _reads_row(frame, f) and _varies(frame, f)
                   for r, f in sides)
    return False


def _link(frame, c, ctx):
    """(row-side expr, frame-side expr) when conjunct c links rows to frame rows."""
    if not _may_link(frame, c):
        return None
    if isinstance(c, ir.BinOp) and c.op == "==":
        for row_side, frame_side in ((c.left, c.right), (c.right, c.left)):
            if _frame_only(frame, frame_side) and _only_row(frame, row_side):
                fv = frame.ev(frame_side, Ctx())
                if isinstance(fv, PeriodRef):
                    rv = _period_column(frame, row_side)
                    if rv is None:
                        return None
                    return rv, pl.col(frame.period_chain(fv.chain)[0])
                rv = frame.ev(row_side, ctx)
                if not isinstance(fv, Col) or not isinstance(rv, Col) or fv.err is not None:
                    return None
                if rv.err is not None:  # e.g. a lookup of a key no row has (KR405)
                    ctx.builder.check(rv.err)
                if rv.kind != fv.kind and {rv.kind, fv.kind} - {"money", "number", "rate", "count"}:
                    return None
                return rv.expr, fv.expr
        return None
    if isinstance(c, ir.BinOp) and c.op == "in":
        right = c.right
        if _frame_only(frame, right) and _only_row(frame, c.left):
            fv = frame.ev(right, Ctx())
            if isinstance(fv, PeriodRef) and (not fv.chain or fv.chain[-1] != "year_to_date"):
                rv = frame.ev(c.left, ctx)
                if isinstance(rv, Col) and rv.kind == "date" and rv.err is None:
                    kind, fiscal = frame.chain_kind(fv.chain), frame.plan.fiscal_start
                    key = rv.expr.map_batches(lambda s: period_starts(s, kind, fiscal), return_dtype=pl.Date)
                    return key, pl.col(frame.period_chain(fv.chain)[1])  # the period's start date
    return None


def _period_column(frame, node):
    r = frame.ref(node)
    if r is not None and r[0] == "column" and r[1] == 0:
        spec = frame.plan.inputs[r[2]].columns[r[3]]
        if spec.type.kind == "period":
            return pl.col(r[3])
    return None


def _agg_exprs(fn, value) -> list:
    v = None
    if value is not None:
        v = value.expr
        if not v.meta.root_names():  # a literal or a param: one value per ROW, not one per group
            v = pl.when(pl.int_range(pl.len()) >= 0).then(v)
        v = v.alias("__v")
    aggs = [pl.len().alias("__n")]
    errs = []
    if value is not None and value.err is not None:
        errs.append(value.err.fill_null(False).any())
    if fn in ("sum", "avg"):
        aggs.append(v.sum().alias("__s"))
        if value.nullable:
            errs.append(value.expr.is_null().any())
    elif fn in ("min", "max"):
        aggs.append((v.min() if fn == "min" else v.max()).alias("__s"))
    elif fn == "one":
        aggs.append(v.first().alias("__s"))
    if errs:
        aggs.append(pl.any_horizontal(*errs).alias("__e"))
    b = bound_of(value) if value is not None and fn in ("sum", "avg", "min", "max", "one") else None
    if b is not None:  # sums add their rows' bounds; a chosen row is within the largest
        aggs.append((b.sum() if fn in ("sum", "avg") else b.max()).alias("__b"))
    return aggs


def _group(frame, node, fn, joined, value):
    g = joined.group_by("__f").agg(*_agg_exprs(fn, value))
    if frame.lineage is not None:
        keep = [pl.col("__f"), pl.col("__row")] + ([value.expr.alias("__v")] if value is not None else [])
        frame.lineage.append((node, frame.current, joined.select(keep)))
    out = frame.read("__f").join(g, on="__f", how="left", maintain_order="left")
    return _finish(frame, node, fn, out, value)


def _finish(frame, node, fn, out, value) -> Col:
    """The aggregate as a frame column (out: one row per frame row, in order) and, when
    some frame row cannot have it (no row for one(), an empty value summed), its errors."""
    name = frame.fresh("a.")
    kind = node.type.kind
    n = out["__n"].fill_null(0)
    err = (out["__e"].fill_null(False) if "__e" in out.columns
           else pl.repeat(False, out.height, dtype=pl.Boolean, eager=True))
    if fn == "sum":
        val = out["__s"].fill_null(0).cast(DEC)
    elif fn == "count":
        val, kind = n.cast(DEC), "count"
    elif fn == "exists":
        val = n > 0
    elif fn == "avg":
        val = out["__s"].cast(DEC) / pl.Series(n.replace(0, 1)).cast(DEC)
        val = pl.select(pl.when(pl.Series(n) == 0).then(None).otherwise(val)).to_series()  # no rows: empty
    elif fn in ("min", "max"):
        val = out["__s"]  # null where no row has a present value: empty
    else:  # one
        val = out["__s"]
        err = err | (n != 1)
    frame.add(name, pl.lit(val), **{name + "!": pl.lit(err)})
    has_err = bool(err.any())
    nullable = fn in ("avg", "min", "max") or fn == "one" and value.nullable
    approx = fn == "avg" or "__b" in out.columns
    bound = None
    if approx:  # core.numeric's error bounds: an average is a sum divided (one more step)
        b = pl.col("__b").fill_null(0) if "__b" in out.columns else pl.lit(0)
        b = b.cast(DEC)
        if fn == "avg":
            b = b / pl.col("__n").fill_null(0).replace(0, 1).cast(DEC)
        elif fn in ("min", "max"):
            b = b + dec(SNAP_WIDTH)  # the interpreter chose on snapped values
        b = pl.min_horizontal(b + dec(STEP_ERROR * 4), dec(BOUND_CAP))
        frame.add(name + "~", pl.lit(out.select(b).to_series()))
        bound = pl.col(name + "~")
    # a sum, the least, the most or the one of exact values: at most their places
    places = 0 if fn == "count" else (
        value.places if fn in ("sum", "min", "max", "one") and not approx and not value.approx else None)
    return Col(pl.col(name), pl.col(name + "!") if has_err else None, kind, nullable, approx=approx, bound=bound,
               places=places)


__all__ = ["aggregate", "dec"]
