"""Plan expressions as polars expressions over the frame: one row per payee x calculation
period, every definition a column.

Values are `Col`s: a polars expression, the expression of where evaluating it would stop
the interpreter (an empty value in a calculation, a division by zero, no decision row...),
and the plan type kind. Numbers and Money are Decimal(38, 24) (24 = money.EXACT_PLACES): sums
are exact; a product of two exact values is exact when their places add up to at most 24,
else the row is handed to the interpreter (which computes it exactly or refuses it, KR415);
a division keeps 24 places, rounded, and makes its Col `approx` (as the interpreter's
approximate values, core.numeric.approximate). The interpreter keeps a quotient to 80
digits and snaps it to GUARD_PLACES for comparisons and rounding; this engine's
approximate values carry an error bound column (Col.bound, core.numeric's error bounds,
propagated through every operation), and a comparison, a cell, a rounding or a choice is
taken on the columns only where the whole interval lies on one side of it; elsewhere it is
replayed exactly from the operands (values.replayed) or handed to the interpreter for
those payees (through the Col's errors). Exact values (and quotients that terminate, bound
0) are never snapped. An aggregation over `rows where ...` is a join of the
filtered table with the frame on the conjuncts that link a row to a payee-period
(`payee_id == payee.id`, `date in period`, `assignee(...) == payee.id`, `x == period.year`),
then a group-by. What this layer does not translate raises `Unsupported`; what the data makes
unsure raises `Fallback`: the caller then runs the interpreter, which is the reference.
"""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import attrs
import polars as pl

from kamrules.core import ir
from kamrules.check.lower import ir_of
from kamrules.core.builtins import AGGREGATES
from kamrules.core.history import NONE
from kamrules.core.calendar import parse_period, period_attr
from kamrules.core.limits import MAX_DATE, MIN_DATE
from kamrules.core.numeric import ROUND_STEPS
from kamrules.core.numeric import Fallback, between, places_of
from kamrules.backends.polars.columns import Columns
from kamrules.backends.polars.decisions import decide
from kamrules.backends.polars.values import (Col, Ctx, DEC, NUMERIC, PeriodConst, PeriodKeys, PeriodRef, Rows,
                      looked_up, Unsupported, MAX_DAYS,
                      error_when, conjuncts, dec, exact_product, null_error, any_error, period_key,
                      replay_op, rounded, snap, truth, bound_of, bound_op, bound_choice, bound_pick,
                      bound_sum, compared, undecided, replay_call, replayed, data_places, most_places,
                      ratio_fits, ratio_limits, ratio_of, ratio_round, ratio_width)


class Frame(Columns):
    """The frame DataFrame under construction and the translation of expressions onto it."""

    def __init__(self, plan, frames: dict, calc_periods: list, lineage: bool = False):
        self.plan, self.frames = ir_of(plan), frames
        plan = self.plan
        self.lineage = [] if lineage else None
        self.periods = calc_periods
        payees = frames[plan.payees_table]
        spec = plan.inputs[plan.payees_table]
        people = payees.select(
            pl.col("__id").alias("__payee"),
            *[pl.col(c).alias(f"payee.{c}") for c in spec.columns]).sort("__payee")
        cal = pl.DataFrame({
            "__pkey": [period_key(p) for p in calc_periods],
            "__pstart": [p.start for p in calc_periods],
            "__pend": [p.end for p in calc_periods],
        }, schema={"__pkey": pl.String, "__pstart": pl.Date, "__pend": pl.Date})
        self.by_key = {period_key(p): p for p in calc_periods}
        df = people.join(cal, how="cross", maintain_order="left_right")
        self.df = df.with_row_index("__f")
        # payees x periods: frame row __f is payee rank x len(periods) + period rank
        self.grid = (people.height, cal.height)
        self.rowsets: dict = {}
        self.aggs: dict = {}
        self.joins: dict = {}
        self.current = None  # the definition being computed (named in the lineage)
        self.period_cols: dict = {(): ("__pkey", "__pstart", "__pend")}
        self.spread_cells: dict = {}  # aggregate._cell_of_rows, by (period keys, their ranks)
        self.drop_stride, self.drop_pending = 1, 0  # engine._drop_temporaries: a pass every drop_stride definitions
        self.n = 0
        self.nullable_defs: set = set()
        self.approx_defs: set = set()  # definitions whose value may be approximate (Col.approx)
        self.replays: dict = {}  # their replays (values.replay_of), column -> (exprs, fn)
        self.bounds: dict = {}  # their error bounds (Col.bound), column -> bound column
        self.foreign = 0  # > 0 inside fx()'s amount: money in another currency is read
        self.pairs: list = []  # (what, rows) of every join of data rows with the frame (aggregate.py)
        self.history = NONE  # what paid() reads in the periods a ledger fixed (ledger.py, core.history)
        self.places: dict = {}  # (table, column) -> at most this many places in its data (column_places)
        self.def_places: dict = {}  # d.<name> -> at most this many places (an exact definition's)
        self.ratios: dict = {}  # d.<name> -> its Col.ratio (a quotient of exact values)
        self.deferred_bound = None  # the uid of a let's quotient whose bound is not made a column (engine._compute)

    def column_places(self, table: str | None, column: str) -> int | None:
        """The most decimal places a numeric input column holds (read once on its data: the
        payees' table for table None), so that a product of exact values known to fit 24
        places needs no check per row (values.exact_product)."""
        key = (table, column)
        if key not in self.places:
            df = self.frames[table if table is not None else self.plan.payees_table]
            self.places[key] = data_places(df[column]) if column in df.columns else None
        return self.places[key]

    def on(self, df: pl.DataFrame) -> "Frame":
        """This frame's translation reading `df` instead of its rows (decisions.py decides a
        pure table once per distinct arguments: df holds their columns)."""
        if self._pending:
            self._flush()
        other = copy.copy(self)
        other.df = df
        return other

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def keep(self, expr: pl.Expr) -> pl.Expr:
        """expr as a frame column (computed once however often it is read)."""
        name = self.fresh("t.")
        self.add(name, expr)
        return pl.col(name)

    def materialize(self, c: Col) -> Col:
        """c as a frame column (and its errors as another), so that expressions reading it
        several times compute it once."""
        name = self.fresh("t.")
        self.add(name, c.expr)
        err = bound = None
        if c.err is not None:
            self.add(name + "!", c.err.fill_null(False))
            err = pl.col(name + "!")
        if c.bound is not None:
            self.add(name + "~", c.bound)
            bound = pl.col(name + "~")
        return Col(pl.col(name), err, c.kind, c.nullable, c.approx, c.replay, c.places, bound=bound)

    def settle(self, c: Col, ctx) -> Col:
        """c with its value and error bound computed once as frame columns when on the frame
        (its errors, replay and places kept): the expressions built on it then read columns,
        not copies of its tree (a quotient is read some 30 times by a rounding, a comparison
        or a curve after it: polars planned trees of 100,000 characters, most of a run's
        time). The same values, computed once."""
        if ctx.table is not None or c.expr.meta.is_column():
            return c
        name = self.fresh("t.")
        exprs = {name: c.expr}
        if c.bound is not None and not c.bound.meta.is_column():
            exprs[name + "~"] = c.bound
        self.add(name, c.expr, **{k: e for k, e in exprs.items() if k != name})
        bound = pl.col(name + "~") if name + "~" in exprs else c.bound
        return attrs.evolve(c, expr=pl.col(name), bound=bound)

    # ------------------------------------------------------------ periods
    def period_chain(self, chain: tuple) -> tuple:
        """(key, start, end) column names of the period reached by `chain` from the
        calculation period, added to the frame on first use."""
        if chain in self.period_cols:
            return self.period_cols[chain]
        keys, starts, ends, src = [], [], [], []
        for k, p in self.by_key.items():
            q = p
            try:
                for attr in chain:
                    q = period_attr(q, attr)
            except (OverflowError, ValueError):  # before year 1 or past the calendar
                raise Fallback(f"period.{'.'.join(chain)} of {period_key(p)} is beyond the calendar "
                               "(the interpreter reports it)") from None
            if getattr(q, "kind", None) == "range":
                raise Unsupported("a year-to-date range outside `date in ...`")
            src.append(k)
            keys.append(period_key(q))
            starts.append(q.start)
            ends.append(q.end)
        base = "period." + ".".join(chain)
        names = (base + ".key", base + ".start", base + ".end")
        if "__f" in self._df.schema and self.grid[1] == len(src) and self.height == self.grid[0] * len(src):
            # the payees x periods grid: frame row f is in calculation period f % periods
            rank = pl.col("__f") % len(src)
            self.add(names[0], pl.lit(pl.Series(keys, dtype=pl.String)).gather(rank),
                     **{names[1]: pl.lit(pl.Series(starts, dtype=pl.Date)).gather(rank),
                        names[2]: pl.lit(pl.Series(ends, dtype=pl.Date)).gather(rank)})
        else:
            small = pl.DataFrame({"__pkey": src, names[0]: keys, names[1]: starts, names[2]: ends},
                                 schema={"__pkey": pl.String, names[0]: pl.String, names[1]: pl.Date,
                                         names[2]: pl.Date})
            self.df = self.df.join(small, on="__pkey", how="left", maintain_order="left")
        self.period_cols[chain] = names
        return names

    def period_scalar(self, chain: tuple, attr: str, dtype=None) -> str:
        """A column of attribute `attr` (label, is_quarter_end, start...) of the period
        reached by `chain`, computed once per calculation period."""
        name = "period." + ".".join(chain + (attr,))
        if name not in self.columns:
            values = {}
            for k, p in self.by_key.items():
                q = p
                for a in chain:
                    q = period_attr(q, a)
                values[k] = getattr(q, attr) if attr in ("start", "end") else period_attr(q, attr)
            if dtype is None:
                dtype = pl.Boolean if attr.startswith("is_") else pl.String
            self.add(name, pl.col("__pkey").replace_strict(values, return_dtype=dtype))
        return name

    # ------------------------------------------------------------ expressions
    def ev(self, node, ctx: "Ctx"):
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"{type(node).__name__} expressions", node)
        return method(node, ctx)

    def _Number(self, node, ctx):
        return Col(dec(node.value), None, "number", places=places_of(Decimal(node.value)))

    def _MoneyLit(self, node, ctx):
        if node.currency != self.plan.currency and not self.foreign:
            raise Unsupported("an amount in another currency", node)
        return Col(dec(node.value), None, "money", places=places_of(Decimal(node.value)))

    def _String(self, node, ctx):
        return Col(pl.lit(node.value, dtype=pl.String), None, "text")

    def _Bool(self, node, ctx):
        return Col(pl.lit(node.value), None, "bool")

    def _DateLit(self, node, ctx):
        return Col(pl.lit(dt.date.fromisoformat(node.text)), None, "date")

    def _kind(self, node) -> str:
        return node.type.kind

    def ref(self, node):
        """What a Name or an Attr names (its `ref`), None for other nodes (RuleFrame
        rebases the rows of a `require` rule)."""
        return getattr(node, "ref", None)

    def _column(self, table: str, column: str, node, ctx):
        if ctx.table != table:
            raise Unsupported("a column of an outer row", node)
        spec = self.plan.inputs[table].columns[column]
        if spec.type.kind == "period":
            raise Unsupported("a Period column outside `==`", node)
        if spec.type.kind == "money" and spec.type.currency not in (None, self.plan.currency) \
                and not self.foreign:
            raise Unsupported("an amount in another currency", node)
        places = self.column_places(table, column) if spec.type.kind in NUMERIC else None
        return Col(pl.col(column), None, spec.type.kind, spec.optional, places=places)

    def _Name(self, node, ctx):
        r = self.ref(node)
        kind = r[0]
        if kind == "column":
            if r[1] != 0:
                raise Unsupported("nested rows", node)
            return self._column(r[2], r[3], node, ctx)
        if kind == "param":
            return ctx.params[r[1]]
        if kind == "period":
            return PeriodRef(())
        if kind == "def":
            return self.definition_ref(r[1], node)
        if kind == "table":
            return Rows(r[1], ())
        raise Unsupported(f"`{node.id}` as a value", node)

    def definition_ref(self, name: str, node, lazy_bound: bool = False):
        """The value of a definition read by name (a column, for a let or a component).
        lazy_bound: a let's error bound not computed yet stays an expression (a reader that
        may not need it: exact_rounding)."""
        d = self.plan.definitions[name]
        if d.kind == "param":
            return self.ev(d.node.expr, Ctx())  # constant: inlined, valid in any context
        if d.type.kind == "rows":
            return self.rowset(name)
        if d.type.kind == "row":
            row = builtins.row_value(self, node, Ctx())
            if row is None:
                raise Unsupported(f"`{name}` is a row", node)
            return row
        col = f"d.{name}"
        if col not in self.columns:
            raise Unsupported(f"`{name}` used before it is computed", node)
        err = f"e.{name}"
        bound = self.bounds.get(col)
        if bound is not None and not bound.meta.is_column() and not lazy_bound:  # a let's bound: on first read
            self.add(f"b.{name}", bound)
            bound = self.bounds[col] = pl.col(f"b.{name}")
        return Col(pl.col(col), pl.col(err) if err in self.columns else None, d.type.kind,
                   nullable=col in self.nullable_defs, approx=col in self.approx_defs,
                   replay=self.replays.get(col), places=self.def_places.get(col), bound=bound,
                   ratio=self.ratios.get(col))

    def rowset(self, name: str) -> Rows:
        if name not in self.rowsets:
            d = self.plan.definitions[name]
            rows = self.ev(d.node.expr, Ctx())
            if not isinstance(rows, Rows):
                raise Unsupported(f"`{name}` is not rows of a table", d.node)
            self.rowsets[name] = rows
        return self.rowsets[name]

    def _Where(self, node, ctx):
        src = self.ev(node.source, ctx)
        if not isinstance(src, Rows):
            raise Unsupported("`where` on something else than rows of a table", node)
        return Rows(src.table, src.conds + tuple(conjuncts(node.cond)), base=src)

    def _Attr(self, node, ctx):
        r = self.ref(node)
        if r is not None and r[0] == "column":
            if r[1] != 0:
                raise Unsupported("nested rows", node)
            return self._column(r[2], r[3], node, ctx)
        obj_node = node.obj
        if r[0] == "field" and isinstance(obj_node, ir.Index):
            return self._lookup(obj_node, node.name, ctx)
        if r[0] in ("row_id", "field"):
            row = builtins.row_value(self, obj_node, ctx)
            if row is not None:
                return builtins.row_field(self, row, node, r)
            index = looked_up(self.plan, obj_node, self.ref)
            if index is not None and r[0] == "field" and ctx.table is None:  # `let t = table[key]`, `t.x`
                return self._lookup(index, node.name, ctx)
            if not (isinstance(obj_node, ir.Name) and self.ref(obj_node) == ("payee",)):
                raise Unsupported("a field of a looked-up row", node)
            if r[0] == "row_id":
                return Col(pl.col("__payee"), None, "text")
            spec = self.plan.inputs[self.plan.payees_table].columns[node.name]
            if spec.type.kind == "period":
                raise Unsupported("a Period column of the payee", node)
            places = self.column_places(None, node.name) if spec.type.kind in NUMERIC else None
            return Col(pl.col(f"payee.{node.name}"), None, spec.type.kind, spec.optional, places=places)
        if r[0] == "period_attr":
            obj = self.ev(obj_node, ctx)
            if isinstance(obj, PeriodConst):  # an attribute of a period written in the plan: a constant
                value = period_attr(obj.period, node.name)
                if node.name in ("year", "quarter", "month", "previous", "year_to_date"):
                    return PeriodConst(value)
                kind = "date" if node.name in ("start", "end") else "bool" if node.name.startswith("is_") else "text"
                return Col(pl.lit(value), None, kind)
            if not isinstance(obj, PeriodRef):
                raise Unsupported("an attribute of a Period column", node)
            name = node.name
            if name in ("year", "quarter", "month", "previous"):
                return PeriodRef(obj.chain + (name,))
            if name == "year_to_date":
                return PeriodRef(obj.chain + (name,))
            if name in ("start", "end"):
                if obj.chain and obj.chain[-1] == "year_to_date":
                    return Col(pl.col(self.period_scalar_date(obj.chain, name)), None, "date")
                cols = self.period_chain(obj.chain)
                return Col(pl.col(cols[1] if name == "start" else cols[2]), None, "date")
            col = self.period_scalar(obj.chain, name)
            return Col(pl.col(col), None, "bool" if name.startswith("is_") else "text")
        raise Unsupported("this attribute", node)

    def _lookup(self, index, column: str, ctx) -> Col:
        """`table[key].column`: a left join on the table's key, added to the frame (or to the
        rows being filtered); a key that no row has stops the interpreter (KR405)."""
        table = index.obj.id
        spec = self.plan.inputs[table]
        col_spec = spec.columns[column]
        if spec.key is None or col_spec.type.kind == "period" and ctx.table is not None:
            raise Unsupported("a lookup in a table without a key, or of a Period column", index)
        if col_spec.type.kind == "money" and col_spec.type.currency not in (None, self.plan.currency):
            raise Unsupported("an amount in another currency", index)
        key = self.ev(index.key, ctx)
        if not isinstance(key, Col):
            raise Unsupported("a lookup by rows or periods", index)
        name = self.fresh("lk.")
        src = self.frames[table].select(pl.col(spec.key).alias("__lk"), pl.col(column).alias(name),
                                        pl.lit(True).alias(name + "?"))
        owner = self if ctx.table is None else ctx.builder
        if owner is None:
            raise Unsupported("a lookup here", index)
        found = owner.df.select(key.expr.alias("__lk")).join(src, on="__lk", how="left",
                                                           maintain_order="left")
        owner.df = owner.df.with_columns(found[name], found[name + "?"].fill_null(False))
        missing = key.expr.is_not_null() & ~pl.col(name + "?")
        if col_spec.type.kind == "period":  # its keys, compared with periods (_BinOp)
            return PeriodKeys(pl.col(name), any_error(key.err, missing))
        return Col(pl.col(name), any_error(key.err, missing), col_spec.type.kind, True)

    def period_scalar_date(self, chain: tuple, attr: str) -> str:
        return self.period_scalar(chain, attr, pl.Date)

    def _Neg(self, node, ctx):
        v = self.ev(node.expr, ctx)
        return Col(-v.expr, null_error(v), v.kind, approx=v.approx, bound=v.bound)

    def _Not(self, node, ctx):
        v = self.ev(node.expr, ctx)
        return Col(~truth(v), v.err, "bool")

    def _IfElse(self, node, ctx):
        c = self.ev(node.cond, ctx)
        a, b = self.ev(node.then, ctx), self.ev(node.else_, ctx)
        cond = truth(c)
        return Col(pl.when(cond).then(a.expr).otherwise(b.expr),
                   any_error(c.err, error_when(cond, a.err), error_when(~cond, b.err)), a.kind, a.nullable or b.nullable,
                   getattr(a, "approx", False) or getattr(b, "approx", False), bound=bound_choice(cond, a, b))

    def _PeriodLit(self, node, ctx):
        return PeriodConst(parse_period(node.text, self.plan.fiscal_start))

    def _period_key(self, p, node) -> pl.Expr:
        """The key (`kind:start`) of a period on the frame: a PeriodRef's column, a literal's value."""
        if isinstance(p, PeriodKeys):
            return p.expr
        if isinstance(p, PeriodConst):
            if p.period.kind == "range":
                raise Unsupported("a year-to-date range outside `date in ...`", node)
            return pl.lit(period_key(p.period))
        return pl.col(self.period_chain(p.chain)[0])

    def _ListLit(self, node, ctx):
        raise Unsupported("a list outside `x in [...]`", node)

    def chain_kind(self, chain: tuple) -> str:
        """The kind (month, quarter, year) of the period `chain` reaches."""
        kind = self.plan.period_kind
        for a in chain:
            kind = a if a in ("year", "quarter", "month") else "range" if a == "year_to_date" else kind
        return kind

    def _BinOp(self, node, ctx, operands: tuple | None = None):
        op = node.op
        if operands is not None:  # evaluated already (exact_rounding)
            return self._operation(node, *operands, ctx)
        if op in ("and", "or"):
            a, b = self.ev(node.left, ctx), self.ev(node.right, ctx)
            x, y = truth(a), truth(b)
            if op == "and":
                return Col(x & y, any_error(a.err, error_when(x, b.err)), "bool")
            return Col(x | y, any_error(a.err, error_when(~x, b.err)), "bool")
        if op in ("in", "not in"):
            res = self._in(node, ctx)
            return res if op == "in" else Col(~res.expr, res.err, "bool")
        a, b = self.ev(node.left, ctx), self.ev(node.right, ctx)
        periods = (PeriodRef, PeriodConst, PeriodKeys)
        if isinstance(a, periods) or isinstance(b, periods):
            if op not in ("==", "!=") or not (isinstance(a, periods) and isinstance(b, periods)):
                raise Unsupported("a period compared with a Period column outside a filter", node)
            ka, kb = self._period_key(a, node), self._period_key(b, node)
            # an empty Period cell is no period: == is false and != true (eq_missing)
            same = ka.eq_missing(kb) if op == "==" else ka.ne_missing(kb)
            err = any_error(*(p.err for p in (a, b) if isinstance(p, PeriodKeys)))
            return Col(same, err, "bool")
        if isinstance(a, Rows) or isinstance(b, Rows):
            raise Unsupported("rows in an expression", node)
        fuzzy = a.kind in NUMERIC and (a.approx or b.approx)
        if op in ("==", "!="):
            if not fuzzy:
                e = a.expr.eq_missing(b.expr) if op == "==" else a.expr.ne_missing(b.expr)
                return Col(e, any_error(a.err, b.err), "bool")
            e, doubt = compared(op, a, b)
            return Col(e, any_error(a.err, b.err, doubt), "bool")
        return self._operation(node, a, b, ctx)

    def _operation(self, node, a, b, ctx):
        """a op b for an order comparison or arithmetic (a and b: node's operands, evaluated)."""
        op = node.op
        err = any_error(null_error(a), null_error(b))
        if op in ("<", "<=", ">", ">="):
            e, doubt = compared(op, a, b)
            return Col(e, any_error(err, doubt), "bool")
        if a.kind == "date" and b.kind == "date" and op == "-":
            return Col((a.expr - b.expr).dt.total_days().cast(pl.Int64).cast(DEC), err, "number")
        if a.kind == "date" and op in "+-" and b.kind in NUMERIC:
            days = b.expr.cast(pl.Int64)
            # a day count or a result past the supported calendar: the interpreter's KR413
            beyond = days.abs() > MAX_DAYS
            days = pl.when(beyond).then(0).otherwise(days)
            res = a.expr + pl.duration(days=days) if op == "+" else a.expr - pl.duration(days=days)
            beyond = beyond | (res > pl.lit(MAX_DATE)) | (res < pl.lit(MIN_DATE))
            return Col(res, any_error(err, beyond.fill_null(False)), "date")
        if a.kind == "date" or b.kind == "date":
            raise Unsupported("this date arithmetic", node)
        kind = self._kind(node)
        fuzzy = a.approx or b.approx
        replay = replay_op(op, a, b) if fuzzy or op == "/" else None  # values.decided_round
        if op in "+-":
            e = a.expr + b.expr if op == "+" else a.expr - b.expr
            return Col(e, err, kind, approx=fuzzy, replay=replay, bound=bound_op(op, a, b, e),
                       places=None if fuzzy else most_places(a, b))
        known = None if a.places is None or b.places is None else a.places + b.places
        if op == "*" and not fuzzy and ctx.table is None and (a.places is None or b.places is None):
            # the exactness check reads each operand up to 14 times: computed once as columns
            a = a if a.places is not None or a.expr.meta.is_column() else self.materialize(a)
            b = b if b.places is not None or b.expr.meta.is_column() else self.materialize(b)
            err = any_error(null_error(a), null_error(b))
        elif fuzzy and ctx.table is None:
            # an error bound reads each operand and its bound several times, and a chain of
            # products nests them: computed once as columns (else the expression grows
            # exponentially with the chain's length)
            a = a if self._flat(a) else self.materialize(a)
            b = b if self._flat(b) else self.materialize(b)
            err = any_error(null_error(a), null_error(b))
        if op == "*":  # exact values: a product beyond 24 places is the interpreter's (KR415 or exact)
            e = _whole_factor(node.left, b)
            e = _whole_factor(node.right, a) if e is None else e
            e = a.expr * b.expr if e is None else e
            return self.settle(Col(e, err if fuzzy else any_error(
                err, ~exact_product(a.expr, b.expr, a.places, b.places)),
                       kind, approx=fuzzy, replay=replay, places=None if fuzzy else known,
                       bound=bound_op("*", a, b, e)), ctx)
        if ctx.table is None:
            # the quotient's bound reads the quotient, the divisor and their bounds up to ~20
            # times (and the rounding that follows reads the bound as often): columns, once
            a = a if a.places is not None or a.expr.meta.is_column() else self.materialize(a)
            b = b if b.places is not None or b.expr.meta.is_column() else self.materialize(b)
            err = any_error(null_error(a), null_error(b))
            replay = replay_op(op, a, b)
        zero = b.expr == dec(0)
        safe = pl.when(zero).then(dec(1)).otherwise(b.expr)
        q = a.expr / safe
        if ctx.table is None:
            name = self.fresh("t.")
            self.add(name, q)
            q = pl.col(name)
        # safe is b or 1: at most b's places (when the plan knows them)
        bound = bound_op("/", a, Col(safe, None, b.kind, approx=b.approx, bound=b.bound, places=b.places), q)
        if ctx.table is None and node.uid != self.deferred_bound:  # (a let's value: computed when read)
            self.add(name + "~", bound)
            bound = pl.col(name + "~")
        return Col(q, any_error(err, zero.fill_null(False)), kind, approx=True, replay=replay, bound=bound,
                   ratio=ratio_of(a, b) if ctx.table is None else None)

    def exact_rounding(self, node, step: Decimal, mode: str, ctx=None) -> tuple:
        """(node's value on the frame, its rounding round(_, step, mode) as a Col, or None).
        A quotient of exact values whose places are known (values.ratio_of; its numerator
        may be such a quotient itself, a definition) is rounded exactly on whole numbers
        when ratio_fits holds on the frame's values: no error bound, no replay, the
        interpreter's rounding by values.ratio_fits (its value is then the plain quotient,
        for the r. column; nothing else reads it). Else None: the caller rounds the value."""
        ctx = ctx if ctx is not None else Ctx()
        if ctx.table is not None or not (isinstance(node, ir.BinOp) and node.op == "/"):
            return self.ev(node, ctx), None
        a, b = (self._operand(x, ctx) for x in (node.left, node.right))
        ratio = ratio_of(a, b)
        maxima = None if ratio is None else self._ratio_maxima(ratio)
        if ratio is None or not ratio_fits(ratio, maxima, step):
            return self._BinOp(node, ctx, (a, b)), None
        zero = (b.expr == dec(0)).fill_null(False)
        err = any_error(null_error(a), null_error(b), zero)
        value = Col(a.expr / pl.when(zero).then(dec(1)).otherwise(b.expr), err, self._kind(node), approx=True,
                    ratio=ratio)
        return value, Col(ratio_round(ratio, step, mode, ratio_width(ratio, maxima, step)), err, value.kind,
                          places=places_of(step))

    def _operand(self, node, ctx):
        """ev(node), a definition named alone without computing its error bound: the quotient
        rounded on whole numbers never reads it (the division's bound, if it is read, is
        computed once as a column there)."""
        r = self.ref(node) if isinstance(node, ir.Name) else None
        if r is not None and r[0] == "def" and self.plan.definitions[r[1]].kind == "let":
            return self.definition_ref(r[1], node, lazy_bound=True)
        return self.ev(node, ctx)

    def _ratio_maxima(self, ratio: tuple) -> list:
        """The maxima of the ratio's whole numbers over the frame (values.ratio_limits), which
        values.ratio_fits and values.ratio_width read."""
        limits = ratio_limits(ratio)
        return list(self.df.select(*[e.max().alias(str(i)) for i, e in enumerate(limits)]).row(0))

    @staticmethod
    def _flat(c: Col) -> bool:
        """c is read from columns or literals: reading it again costs nothing."""
        return (c.places is not None or c.expr.meta.is_column()) and (
            c.bound is None or c.bound.meta.is_column() or c.bound.meta.is_literal())

    def _in(self, node, ctx) -> Col:
        a = self.ev(node.left, ctx)
        right = node.right
        if isinstance(right, ir.ListLit):
            items = [self.ev(x, ctx) for x in right.items]
            if any(not isinstance(i, Col) or i.err is not None for i in items):
                raise Unsupported("`in` a list of computed values", node)
            e, doubt = pl.lit(False), None
            for i in items:
                e = e | a.expr.eq_missing(i.expr)
                if a.kind in NUMERIC and a.approx:  # a value within its bound of an item: the interpreter's
                    doubt = any_error(doubt, undecided((a.expr - i.expr).abs(), bound_of(a)))
            return Col((e & a.expr.is_not_null()).fill_null(False), any_error(a.err, doubt), "bool")
        b = self.ev(right, ctx)
        if isinstance(b, PeriodConst) and isinstance(a, Col) and a.kind == "date":
            lo, hi = pl.lit(b.period.start), pl.lit(b.period.end)
            return Col(((a.expr >= lo) & (a.expr <= hi)).fill_null(False), a.err, "bool")
        if isinstance(b, PeriodRef) and isinstance(a, Col) and a.kind == "date":
            if b.chain and b.chain[-1] == "year_to_date":
                lo = pl.col(self.period_scalar_date(b.chain, "start"))
                hi = pl.col(self.period_scalar_date(b.chain, "end"))
            else:
                _, s, e = self.period_chain(b.chain)
                lo, hi = pl.col(s), pl.col(e)
            return Col(((a.expr >= lo) & (a.expr <= hi)).fill_null(False), a.err, "bool")
        raise Unsupported("this `in`", node)

    # ------------------------------------------------------------ calls
    def _Call(self, node, ctx):
        f = node.func
        if node.decision is not None:
            return decide(self, self.plan.definitions[node.decision], node, ctx)
        if f == "one" and not isinstance(node.args[0], ir.Each):
            return builtins.one_row(self, node, ctx)
        if f in builtins.CALLS:
            return builtins.CALLS[f](self, node, ctx)
        if f in AGGREGATES and not (
                f in ("min", "max") and len(node.args) == 2):
            return self._aggregate(node, ctx)
        method = getattr(self, "_call_" + f, None)
        if method is None:
            raise Unsupported(f"{f}()", node)
        return method(node, ctx)

    def _call_round(self, node, ctx):
        step_node, mode = node.args[1], node.args[2].id
        step = ROUND_STEPS[step_node.id] if isinstance(
            step_node, ir.Name) else step_node.value
        x, exact = self.exact_rounding(node.args[0], Decimal(step), mode, ctx)
        if exact is not None:
            return exact
        return rounded(x, step, mode, self.keep if ctx.table is None else None)

    def _call_money(self, node, ctx):
        if len(node.args) == 2 and node.args[1].value != self.plan.currency:
            raise Unsupported("an amount in another currency", node)
        x = self.ev(node.args[0], ctx)
        return Col(x.expr, null_error(x), "money", approx=x.approx, replay=x.replay, places=x.places,
                   bound=x.bound)

    def _call_abs(self, node, ctx):
        x = self.ev(node.args[0], ctx)
        return Col(x.expr.abs(), null_error(x), x.kind, approx=x.approx, places=x.places, bound=x.bound)

    def _call_min(self, node, ctx):
        a, b = (self.ev(x, ctx) for x in node.args)
        return Col(pl.min_horizontal(a.expr, b.expr), any_error(null_error(a), null_error(b)), a.kind,
                   approx=a.approx or b.approx, places=most_places(a, b), bound=bound_pick(a, b))

    def _call_max(self, node, ctx):
        a, b = (self.ev(x, ctx) for x in node.args)
        return Col(pl.max_horizontal(a.expr, b.expr), any_error(null_error(a), null_error(b)), a.kind,
                   approx=a.approx or b.approx, places=most_places(a, b), bound=bound_pick(a, b))

    def _call_default(self, node, ctx):
        a, b = (self.ev(x, ctx) for x in node.args)
        if isinstance(a, (Rows, PeriodRef)) or isinstance(b, (Rows, PeriodRef)):
            raise Unsupported("default() of rows or periods", node)
        return Col(pl.coalesce(a.expr, b.expr), any_error(a.err, error_when(a.expr.is_null(), b.err)),
                   a.kind if a.kind != "unknown" else b.kind, b.nullable, a.approx or b.approx,
                   bound=bound_choice(a.expr.is_null(), b, a))

    def _call_present(self, node, ctx):
        a = self.ev(node.args[0], ctx)
        return Col(a.expr.is_not_null(), a.err, "bool")

    def _call_between(self, node, ctx):
        x, lo, hi = (self.ev(a, ctx) for a in node.args)
        inside = (snap(x) >= snap(lo)) & (snap(x) <= snap(hi))
        bounds = any_error(lo.expr.is_null() if lo.nullable else None, hi.expr.is_null() if hi.nullable else None)
        present = x.expr.is_not_null()
        fuzzy = None
        if x.approx or lo.approx or hi.approx:
            fuzzy = any_error(*(undecided((x.expr - end.expr).abs(), bound_sum(bound_of(x), bound_of(end)))
                                for end in (lo, hi)))
            inside, fuzzy = replayed(inside, fuzzy, replay_call(between, x, lo, hi), pl.Boolean)
        return Col(pl.when(present).then(inside).otherwise(False),
                   any_error(x.err, lo.err, hi.err, error_when(present, bounds), fuzzy), "bool")

    def _call_days(self, node, ctx):
        a, b = (self.ev(x, ctx) for x in node.args)
        days = (b.expr - a.expr).dt.total_days().cast(pl.Int64).cast(DEC)
        return Col(days, any_error(null_error(a), null_error(b)), "number")

    def _call_assignee(self, node, ctx):
        if ctx.table is None:
            raise Unsupported("assignee() outside a filter over rows", node)
        account, role, day = node.args
        if not (isinstance(role, ir.String)):
            raise Unsupported("assignee() with a computed role", node)
        acc, dayv = self.ev(account, ctx), self.ev(day, ctx)
        name = ctx.assignee_column(self, acc.expr, role.value, dayv.expr)
        return Col(pl.col(name), any_error(acc.err, dayv.err), "text", True)

    def _call_paid(self, node, ctx):
        from kamrules.backends.polars.ledger import paid_column
        return paid_column(self, node, ctx)

    # ------------------------------------------------------------ aggregations
    def _aggregate(self, node, ctx):
        if ctx.table is not None:
            raise Unsupported("an aggregation inside a filter or a per-row expression", node)
        key = node.uid
        if key in self.aggs:
            return self.aggs[key]
        from kamrules.backends.polars.aggregate import aggregate
        result = aggregate(self, node)
        if node.func == "avg" or any(self._may_be_approx(a) for a in node.args):
            result = attrs.evolve(result, approx=True, places=None)  # aggregate.py gives its bound when it knows it
        self.aggs[key] = result
        return result


    def _may_be_approx(self, node) -> bool:
        """Whether an expression (inside an aggregation) may divide: a `/`, an average or a
        definition whose value may be approximate."""
        for n in ir.walk(node):
            if isinstance(n, ir.BinOp) and n.op == "/" or isinstance(n, ir.Call) and n.func == "avg":
                return True
            r = self.ref(n)
            if r is not None and r[0] == "def" and f"d.{r[1]}" in self.approx_defs:
                return True
        return False



from kamrules.backends.polars import builtins  # noqa: E402  (it builds on this module's Col and helpers)


def _whole_factor(literal, other: Col) -> pl.Expr | None:
    """other * literal when the literal is a whole number (`x * 12`, `8 * (a - 100%)`) and
    other not approximate: the literal as Decimal(38, 0), so polars multiplies the 128-bit
    integers at the column's scale instead of widening to 256 bits and dividing back by
    10^24 (the same value, exactly, and the same overflow error; a third less CPU a
    product). None otherwise."""
    if not isinstance(literal, ir.Number) or other.approx:
        return None
    value = Decimal(literal.value)
    if value != value.to_integral_value() or abs(value) >= 10 ** 14:
        return None
    return other.expr * pl.lit(str(int(value))).cast(pl.Decimal(38, 0))
