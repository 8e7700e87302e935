"""The lowered plan (core.ir) as SQL expressions over the frame `f` (one row per payee x
calculation period: "__payee", "__pkey", "__pstart", "__pend", the payee's columns
"payee.<column>", and one column per definition computed so far).

`Translator.ev(node, ctx)` gives a `Val`: its SQL, kind, DECIMAL scale, error mask (SQL
true where the interpreter would stop with a diagnostic: a division by zero, one() over not
exactly one row, an empty value in a calculation, no decision row matching) and, for a
quotient, the (numerator, denominator) pair it is kept as (exact.py). A `rows where`
becomes a correlated subquery on its input (`Rows`: the table and its conditions).

Anything it cannot translate exactly raises `Refused` with the construct and its line: the
static pass (`refusal` in engine.py) runs the translation before any data is read.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.core import ir
from kamrules.core.numeric import EXACT_PLACES, ROUND_STEPS
from kamrules.backends.sql import ratio
from kamrules.backends.sql.values import (
    COLUMN_SCALE, NUMERIC, PERIOD_KINDS, Ctx, Refused, Rows, Val, aligned, any_err, q, stored, string)
from kamrules.backends.sql.exact import cast, literal, round_exact, round_ratio, snapped_units, MODES


def worst_scales(plan) -> dict:
    """(table, column) -> the most places a loaded cell can have: a Money cell its currency's
    minor units, a Number or Rate cell 12 (the loader refuses more, KR414)."""
    from kamrules.data.strict import minor_units
    out = {}
    for name, spec in plan.inputs.items():
        for c, col in spec.columns.items():
            if col.type.kind == "money":
                out[name, c] = minor_units(col.type.currency or plan.currency)
            elif col.type.kind in NUMERIC:
                out[name, c] = COLUMN_SCALE
    return out


class Translator:
    def __init__(self, plan: ir.Plan, scales: dict | None = None):
        self.plan = plan
        self.scales = scales if scales is not None else worst_scales(plan)
        self.defs: dict = {}  # let name -> Val over f's columns
        self.alias = 0
        self.joins: dict = {}  # row alias -> {(table, key column): (alias, LEFT JOIN ...)}
        self.pending: list = []  # (column, Val): quotients computed into the frame first (hoist)
        self.made: set = set()  # the per-row tables ("exec") already created
        self.rowdefs: dict = {}  # row let name -> (table, Val of its row's __row in the frame)
        # > 0 inside fx()'s amount: an amount in another currency is read there; everywhere in a
        # plan paid in each payee's currency (the checker keeps the currencies apart)
        self.foreign = int(plan.currency.startswith("payee."))
        self.elig: str | None = None  # SQL of "this payee is eligible" once the frame has it (team_total)
        self.paid_reads: set = set()  # the components paid() reads (ledger.py)
        self.paid_chains: set = set()  # the `within` chains of the paid() calls

    def hoist(self, v: Val, ctx: Ctx) -> Val:
        """A quotient at the frame's level becomes columns of its own, read back by name, so
        the SQL of nested quotients does not grow with each operation (each one repeats its
        operands: a CASE, a cross-multiplication)."""
        if ctx.rows or v.ratio is None or v.ratio[0].sql.startswith('f."n.'):  # none, or already columns
            return v
        self.alias += 1
        name = f"~h{self.alias}"
        self.pending.append((f"d.{name}", v))
        return stored(name, v)

    def drain(self) -> list:
        out, self.pending = self.pending, []
        return out

    def make(self, table: str, select: str) -> None:
        """Table `table` created (once) from `select`, before the step reading it."""
        if table not in self.made:
            self.made.add(table)
            self.pending.append(("exec", f"CREATE OR REPLACE TABLE {q(table)} AS {select}"))

    # -------------------------------------------------------------- entry
    def ev(self, node, ctx: Ctx):
        fn = getattr(self, "_" + type(node).__name__, None)
        if fn is None:
            raise Refused(f"the construct {type(node).__name__}", node)
        return fn(node, ctx)

    def loose(self, node, ctx: Ctx) -> Val:
        """The value, empty allowed (==, in, present(), default(), between()'s first argument)."""
        v = self.ev(node, ctx)
        if not isinstance(v, Val):
            raise Refused("rows or a period used as a value", node)
        return v

    def value(self, node, ctx: Ctx) -> Val:
        """The value as an operand: an empty one is an error there (the interpreter's KR406)."""
        v = self.loose(node, ctx)
        if v.nullable:
            v = attrs.evolve(v, err=any_err(v.err, f"({v.sql}) IS NULL"), nullable=False)
        return v

    def exact(self, node, ctx: Ctx) -> Val:
        v = self.value(node, ctx)
        if v.ratio is not None:
            raise Refused("a quotient used before it is rounded (wrap it in round(), or divide by "
                          "a literal whose inverse terminates)", node)
        return v

    # -------------------------------------------------------------- literals
    def _Number(self, node, ctx):
        sql, s = literal(node.value)
        if s > EXACT_PLACES:
            raise Refused(f"the number {node.text} has more than {EXACT_PLACES} places", node)
        return Val(sql, (node.type.kind if node.type else "number"), s)

    def _MoneyLit(self, node, ctx):
        if node.currency not in (None, self.plan.currency) and not self.foreign:
            raise Refused("an amount in another currency", node)
        sql, s = literal(node.value)
        return Val(sql, "money", s)

    def _String(self, node, ctx):
        return Val(string(node.value), "text")

    def _Bool(self, node, ctx):
        return Val("TRUE" if node.value else "FALSE", "bool")

    def _DateLit(self, node, ctx):
        return Val(f"DATE '{node.text}'", "date")

    # -------------------------------------------------------------- names
    def _Name(self, node, ctx):
        r = node.ref
        if r[0] == "column":
            return self.column(r[2], r[3], r[1], node, ctx)
        if r[0] == "param":
            return ctx.params[r[1]]
        if r[0] == "period":
            return "period"
        if r[0] == "table":
            return Rows(r[1], ())
        if r[0] == "def":
            return self.definition(r[1], node, ctx)
        raise Refused(f"`{node.id}` as a value", node)

    def column(self, table, column, depth, node, ctx):
        if depth >= len(ctx.rows) or ctx.rows[depth][1] != table:
            raise Refused("a column outside its row", node)
        return self.typed_cell(table, column, f"{ctx.rows[depth][0]}.{q(column)}", node)

    def typed_cell(self, table, column, sql, node, nullable=False):
        """The cell `sql` of table.column as a Val (cast to its scale)."""
        spec = self.plan.inputs[table].columns[column]
        kind = spec.type.kind
        if kind == "money" and spec.type.currency not in (None, self.plan.currency) and not self.foreign:
            raise Refused("an amount in another currency", node)
        nullable = nullable or spec.optional
        if kind in NUMERIC:
            s = self.scales[table, column]
            return Val(cast(sql, s), kind, s, nullable=nullable)
        return Val(sql, kind, 0, nullable=nullable)

    def definition(self, name, node, ctx):
        d = self.plan.definitions[name]
        if d.kind == "param":
            return self.ev(d.node.expr, Ctx(params=ctx.params))  # a param reads no row
        if d.kind == "decision":
            raise Refused(f"the decision `{name}` as a value", node)
        if d.type.kind == "rows":
            return self.rows_of(d.node.expr, node)
        if d.type.kind == "row":
            raise Refused(f"`{name}`: a row as a value", node)
        if name not in self.defs:
            raise Refused(f"`{name}` used before it is computed", node)
        return self.defs[name]

    def _Attr(self, node, ctx):
        obj, r = node.obj, node.ref
        if r and r[0] == "column":
            return self.column(r[2], r[3], r[1], node, ctx)
        if isinstance(obj, ir.Name) and obj.ref == ("payee",):
            key = self.plan.payee_key
            if node.name in ("id", key):
                return Val("f.__payee", "text")
            spec = self.plan.inputs[self.plan.payees_table].columns.get(node.name)
            if spec is None:
                raise Refused(f"payee.{node.name}", node)
            return self.typed_cell(self.plan.payees_table, node.name, f"f.{q('payee.' + node.name)}", node)
        if (isinstance(obj, ir.Name) and obj.ref and obj.ref[0] == "def" and r and r[0] == "field"
                and obj.ref[1] in self.rowdefs):
            table, row = self.rowdefs[obj.ref[1]]
            if node.name not in self.plan.inputs[table].columns:
                raise Refused(f"the attribute .{node.name}", node)
            cell = f"(SELECT min(o.{q(node.name)}) FROM {q('t.' + table)} o WHERE o.__row = {row.sql})"
            return attrs.evolve(self.typed_cell(table, node.name, cell, node), err=row.err)
        if isinstance(obj, ir.Index) and r and r[0] == "field":
            return self.lookup(obj, node.name, ctx)
        if isinstance(obj, ir.Name) and obj.ref == ("period",):
            if node.name == "start":
                return Val("f.__pstart", "date")
            if node.name == "end":
                return Val("f.__pend", "date")
            if node.name in ("is_quarter_end", "is_year_end"):
                return Val(f"coalesce(f.__pend = f.__pend_{node.name[3:-4]}, FALSE)", "bool")
        if (isinstance(obj, ir.Attr) and self.is_period(obj.obj, None) and obj.name in PERIOD_KINDS
                and node.name in ("start", "end")):
            return Val(f"f.__p{node.name}_{obj.name}", "date")
        raise Refused(f"the attribute .{node.name}", node)

    # -------------------------------------------------------------- operators
    def _Neg(self, node, ctx):
        v = self.value(node.expr, ctx)
        if v.ratio is not None:
            return ratio.neg(v)
        return Val(cast(f"-({v.sql})", v.scale), v.kind, v.scale, v.err)

    def _Not(self, node, ctx):
        v = self.exact(node.expr, ctx)
        return Val(f"(NOT ({v.sql}))", "bool", 0, v.err)

    def _BinOp(self, node, ctx):
        op = node.op
        if op in ("and", "or"):
            a, b = self.exact(node.left, ctx), self.exact(node.right, ctx)
            # the interpreter short-circuits: b's errors count only where b is read
            berr = None if b.err is None else (f"({a.sql}) AND ({b.err})" if op == "and"
                                               else f"NOT ({a.sql}) AND ({b.err})")
            return Val(f"(({a.sql}) {op.upper()} ({b.sql}))", "bool", 0, any_err(a.err, berr))
        if op == "/":
            return self.divide(node, ctx)
        if op in ("in", "not in"):
            v = self.within(node, ctx)
            return v if op == "in" else attrs.evolve(v, sql=f"(NOT {v.sql})")
        if op == "==" and self.period_key(node.right) is not None:
            a = self.loose(node.left, ctx)
            test = f"{a.sql} = f.{self.period_key(node.right)}"
            return Val(f"coalesce({test}, FALSE)" if a.nullable else f"({test})", "bool", 0, a.err)
        if op in ("==", "!="):  # an empty value equals only an empty value (no error)
            a, b = self.loose(node.left, ctx), self.loose(node.right, ctx)
            if a.ratio is not None or b.ratio is not None:
                raise Refused("a quotient compared before it is rounded", node)
            if a.nullable or b.nullable:
                sop = "IS NOT DISTINCT FROM" if op == "==" else "IS DISTINCT FROM"
            else:  # plain = (a join key for DuckDB's decorrelation)
                sop = "=" if op == "==" else "<>"
            x, y = aligned(a, b)
            return Val(f"({x} {sop} {y})", "bool", 0, any_err(a.err, b.err))
        a, b = self.value(node.left, ctx), self.value(node.right, ctx)
        err = any_err(a.err, b.err)
        if op in ("<", "<=", ">", ">="):
            a, b = self.comparable(a), self.comparable(b)
            x, y = aligned(a, b)
            return Val(f"({x} {op} {y})", "bool", 0, any_err(a.err, b.err))
        if a.ratio is not None or b.ratio is not None:
            try:
                return self.hoist(ratio.arith(op, a, b, node.type.kind if node.type else "number", err), ctx)
            except ValueError as why:
                raise Refused(str(why), node) from None
        if a.kind == "date" and b.kind == "date" and op == "-":  # days between
            return Val(cast(f"date_diff('day', {b.sql}, {a.sql})", 0), "number", 0, err)  # (no date - date: Spark's is an interval)
        if a.kind == "date" and b.kind != "date" and op in ("+", "-"):  # a date moved by whole days
            day = f"({a.sql} {op} CAST(trunc({b.sql}) AS INTEGER))"
            return Val(f"CAST({day} AS DATE)", "date", 0, any_err(err, f"year({day}) NOT BETWEEN 1 AND 9999"))
        if a.kind == "date" or b.kind == "date":
            raise Refused("date arithmetic other than a date plus days or a difference of dates", node)
        kind = node.type.kind if node.type else a.kind
        if op in ("+", "-"):
            s = max(a.scale, b.scale)
            return Val(cast(f"{cast(a.sql, s)} {op} {cast(b.sql, s)}", s), kind, s, err)
        if op == "*":
            s = a.scale + b.scale
            if s > EXACT_PLACES:
                raise Refused(f"a product with {s} decimal places (more than {EXACT_PLACES})", node)
            return Val(cast(f"{a.sql} * {b.sql}", s), kind, s, err)
        raise Refused(f"the operator {op}", node)

    def comparable(self, v: Val) -> Val:
        """v as the interpreter compares it (a quotient snapped, ratio.compared)."""
        if v.ratio is None:
            return v
        sql, err = ratio.compared(v)
        return Val(sql, v.kind, ratio.GUARD, err)

    def is_period(self, node, ctx) -> bool:
        return isinstance(node, ir.Name) and node.ref == ("period",)

    def period_key(self, node) -> str | None:
        """The frame column holding the key of `period` or `period.year` (quarter, month)."""
        if self.is_period(node, None):
            return "__pkey"
        if isinstance(node, ir.Attr) and self.is_period(node.obj, None) and node.name in PERIOD_KINDS:
            return f"__pkey_{node.name}"
        return None

    def within(self, node, ctx):
        """`x in period`, `in period.quarter` (year, month), `in [a, b]`: an empty x is in nothing."""
        a = self.loose(node.left, ctx)
        right = node.right
        if self.is_period(right, ctx):
            test = f"{a.sql} BETWEEN f.__pstart AND f.__pend"
        elif isinstance(right, ir.Attr) and self.is_period(right.obj, ctx) and right.name in PERIOD_KINDS:
            test = f"{a.sql} BETWEEN f.__pstart_{right.name} AND f.__pend_{right.name}"
        elif isinstance(right, ir.ListLit):
            items = [self.exact(x, ctx) for x in right.items]
            if a.ratio is not None or any(x.err for x in items) or not items:
                raise Refused("`in` a list of values that are not literals", node)
            x, *ys = aligned(a, *items)
            test = f"{x} IN ({', '.join(ys)})"
        else:
            raise Refused("`in` a period other than the calculation period or its year, quarter, month", node)
        return Val(f"coalesce({test}, FALSE)" if a.nullable else f"({test})", "bool", 0, a.err)

    def divide(self, node, ctx):
        kind = node.type.kind if node.type else "number"
        a = self.value(node.left, ctx)
        if isinstance(node.right, (ir.Number, ir.MoneyLit)) and node.right.value != 0 and a.ratio is None and (
                not isinstance(node.right, ir.MoneyLit) or node.right.currency in (None, self.plan.currency)):
            inv = Decimal(1) / node.right.value
            if inv == inv.normalize() and len(inv.as_tuple().digits) <= 20:
                sql, s = literal(inv)
                s += a.scale
                if s > EXACT_PLACES:
                    raise Refused("a quotient with more than 24 places", node)
                return Val(cast(f"{a.sql} * {sql}", s), kind, s, a.err)
        b = self.value(node.right, ctx)  # (a quotient divided by a literal too: a quotient)
        if a.ratio is not None or b.ratio is not None:
            try:
                return self.hoist(ratio.arith("/", a, b, kind, any_err(a.err, b.err)), ctx)
            except ValueError as why:
                raise Refused(str(why), node) from None
        zero = f"({b.sql} = 0)"
        err = any_err(a.err, b.err, zero)
        return Val("NULL", kind, 0, err, (a, b))

    # -------------------------------------------------------------- conditionals
    def _IfElse(self, node, ctx):
        c = self.exact(node.cond, ctx)
        t, e = self.value(node.then, ctx), self.value(node.else_, ctx)
        err = any_err(c.err, None if t.err is None else f"({c.sql}) AND ({t.err})",
                      None if e.err is None else f"NOT coalesce({c.sql}, FALSE) AND ({e.err})")
        if t.ratio is not None or e.ratio is not None:
            return self.hoist(ratio.choose(f"coalesce({c.sql}, FALSE)", t, e, node.type.kind if node.type else "number", err), ctx)
        s = max(t.scale, e.scale)
        tsql, esql = (cast(t.sql, s), cast(e.sql, s)) if t.kind in NUMERIC else (t.sql, e.sql)
        return Val(f"(CASE WHEN {c.sql} THEN {tsql} ELSE {esql} END)", t.kind, s, err)

    # -------------------------------------------------------------- rows
    def rows_of(self, node, at) -> Rows:
        if isinstance(node, ir.Name):
            r = self.ev(node, Ctx())
            if isinstance(r, Rows):
                return r
        if isinstance(node, ir.Where):
            base = self.rows_of(node.source, node)
            return Rows(base.table, base.conds + (node.cond,))
        raise Refused("rows that are not an input filtered by `where`", at)

    def _Where(self, node, ctx):
        return self.rows_of(node, node)

    def subquery(self, rows: Rows, ctx: Ctx):
        """(FROM ... WHERE ..., row ctx, error mask): the mask holds where a condition the
        interpreter would evaluate on some row stops the run (the filters in order, each
        `and` short-circuited: a superset of the interpreter's, whose key links come first)."""
        self.alias += 1
        alias = f"r{self.alias}"
        rc = Ctx(alias, rows.table, ctx.params, ctx.rows + ((alias, rows.table),))
        conds, errs = [], []
        for c in rows.conds:
            v = self.exact(c, rc)
            if v.err:
                errs.append(" AND ".join([f"({x})" for x in conds] + [f"({v.err})"]))
            conds.append(v.sql)
        where = " AND ".join(f"({c})" for c in conds) or "TRUE"
        frm = f"FROM {q('t.' + rows.table)} {alias} /*joins*/ WHERE {where}"
        err = f"EXISTS (SELECT 1 FROM {q('t.' + rows.table)} {alias} /*joins*/ WHERE {any_err(*errs)})" if errs else None
        return frm, rc, err

    # -------------------------------------------------------------- calls
    def _Call(self, node, ctx):
        if node.decision is not None:
            return self.decision(node, ctx)
        fn = getattr(self, "call_" + node.func, None)
        if fn is None:
            raise Refused(f"{node.func}()", node)
        return fn(node, ctx)

    def each(self, node, ctx):
        """(FROM ..., the per-row value or None, the error mask) of an aggregation's argument."""
        arg = node.args[0]
        if isinstance(arg, ir.Each):
            rows = self.rows_of(arg.source, node)
            frm, rc, err = self.subquery(rows, ctx)
            v = self.value(arg.expr, rc)
            if v.ratio is not None:
                raise Refused("an unrounded quotient per row", arg.expr)
            if v.err:
                err = any_err(err, f"EXISTS (SELECT 1 {frm} AND ({v.err}))")
            return frm, v, err
        rows = self.rows_of(arg, node)
        frm, _, err = self.subquery(rows, ctx)
        return frm, None, err

    def call_sum(self, node, ctx):
        frm, v, err = self.each(node, ctx)
        if v is None or v.kind not in NUMERIC:
            raise Refused("sum() of something other than amounts", node)
        return Val(cast(f"(SELECT coalesce(sum({v.sql}), 0) {frm})", v.scale), v.kind, v.scale, err)

    def call_count(self, node, ctx):
        frm, _, err = self.each(node, ctx)
        return Val(cast(f"(SELECT count(*) {frm})", 0), "count", 0, err)

    def call_exists(self, node, ctx):
        frm, _, err = self.each(node, ctx)
        return Val(f"EXISTS (SELECT 1 {frm})", "bool", 0, err)

    def one_row(self, node) -> tuple[str, Val]:
        """(table, __row of the one row) of a row let `one(rows)`; the error mask where there
        is not exactly one (the interpreter's KR405)."""
        if not (isinstance(node, ir.Call) and node.func == "one" and node.decision is None
                and not isinstance(node.args[0], ir.Each)):
            raise Refused("a row that is not one(rows)", node)
        rows = self.rows_of(node.args[0], node)
        frm, rc, err = self.subquery(rows, Ctx())
        return rows.table, Val(f"(SELECT min({rc.row}.__row) {frm})", "rowid", 0,
                               any_err(err, f"(SELECT count(*) {frm}) <> 1"))

    def call_one(self, node, ctx):
        frm, v, err = self.each(node, ctx)
        if v is None:
            raise Refused("one() of a row", node)
        return Val(f"(SELECT min({v.sql}) {frm})", v.kind, v.scale, any_err(err, f"(SELECT count(*) {frm}) <> 1"))

    def call_present(self, node, ctx):
        v = self.loose(node.args[0], ctx)
        if v.ratio is not None:
            raise Refused("present() of a quotient", node)
        return Val(f"(({v.sql}) IS NOT NULL)", "bool", 0, v.err)

    def call_default(self, node, ctx):
        a, b = self.loose(node.args[0], ctx), self.loose(node.args[1], ctx)
        if a.ratio is not None or b.ratio is not None:
            raise Refused("default() of a quotient", node)
        s = max(a.scale, b.scale)
        x, y = (cast(a.sql, s), cast(b.sql, s)) if a.kind in NUMERIC else (a.sql, b.sql)
        err = any_err(a.err, None if b.err is None else f"({a.sql}) IS NULL AND ({b.err})")
        return Val(f"coalesce({x}, {y})", a.kind, s, err, nullable=b.nullable)

    def call_between(self, node, ctx):
        x = self.loose(node.args[0], ctx)
        lo, hi = self.exact(node.args[1], ctx), self.exact(node.args[2], ctx)
        if x.ratio is not None:
            raise Refused("between() of an unrounded quotient", node)
        test = "coalesce({} BETWEEN {} AND {}, FALSE)".format(*aligned(x, lo, hi))
        return Val(test, "bool", 0, any_err(x.err, lo.err, hi.err))

    def call_prorate(self, node, ctx):
        """The share of the period's days between start and end (both included, an empty end
        open): a quotient of whole days."""
        start, end = (self.loose(a, ctx) for a in node.args)
        lo = f"greatest(f.__pstart, coalesce({start.sql}, f.__pstart))"
        hi = f"least(f.__pend, coalesce({end.sql}, f.__pend))"
        active = Val(cast(f"greatest(0, date_diff('day', {lo}, {hi}) + 1)", 0), "number")
        total = Val(cast("(date_diff('day', f.__pstart, f.__pend) + 1)", 0), "number")
        return Val("NULL", "rate", 0, any_err(start.err, end.err), (active, total))

    def column_of(self, v: Val, kind: str) -> Val:
        """v computed first into a frame column of its own (hoist), read back by name."""
        self.alias += 1
        name = f"~t{self.alias}"
        self.pending.append((f"d.{name}", v))
        return stored(name, attrs.evolve(v, kind=kind))

    def call_team_total(self, node, ctx):
        from kamrules.backends.sql import pools
        return pools.team_total(self, node, ctx)

    def call_paid(self, node, ctx):
        from kamrules.backends.sql import ledger
        return ledger.paid(self, node, ctx)

    def call_share(self, node, ctx):
        from kamrules.backends.sql import pools
        return pools.share(self, node, ctx)

    def call_fx(self, node, ctx):
        """fx(amount, "EUR", day): the amount times the rate of fx_rates from its currency to
        the target on the latest date on or before the day (the first such row in file order,
        as the interpreter scans them); unchanged in the target currency; no such rate: the
        interpreter's KR405 (the error mask). The product is exact (its scale the sum).
        fx(amount, payee.COLUMN, day) in a plan paid in each payee's currency: the target is
        the payee's code (the frame's column), unchanged where it is the amount's currency."""
        per_payee = not isinstance(node.args[1], ir.String)
        if per_payee and not self.plan.currency.startswith("payee."):
            raise Refused("fx() to a currency that is not a literal", node)
        target = self.plan.currency if per_payee else node.args[1].value
        self.foreign += 1
        try:
            amount = self.exact(node.args[0], ctx)
        finally:
            self.foreign -= 1
        source = (node.args[0].type.currency if node.args[0].type else None) or self.plan.currency
        if source == target:
            return Val(amount.sql, "money", amount.scale, amount.err)
        if target != self.plan.currency:
            raise Refused("fx() to a currency other than the plan's", node)
        to = self.value(node.args[1], ctx) if per_payee else Val(string(target), "text")
        day = self.exact(node.args[2], ctx)
        s = self.scales["fx_rates", "rate"]
        if amount.scale + s > EXACT_PLACES:
            raise Refused(f"an fx() product with {amount.scale + s} decimal places (more than {EXACT_PLACES})", node)
        self.alias += 1
        x = f"x{self.alias}"
        pair = f"{x}.{q('from')} = {string(source)} AND {x}.{q('to')} = {to.sql}"
        r = getattr(node.args[2], "ref", None)
        if r and r[0] == "column" and r[1] < len(ctx.rows):
            # the day is a column of a row: each row's rate computed once, by an ASOF join (the
            # latest date on or before it) on the pair's first row per date, joined by __row
            # (and by the target currency where it is the payee's)
            src, table = q("t." + r[2]), f"~fx.{source}.{'~payee' if per_payee else target}.{r[2]}.{r[3]}"
            first = (f"(SELECT * FROM (SELECT {x}.{q('to')}, {x}.{q('date')}, {x}.rate, row_number() OVER (PARTITION BY "
                     f"{x}.{q('to')}, {x}.{q('date')} ORDER BY {x}.__row) AS k FROM {q('t.fx_rates')} {x} WHERE "
                     f"{x}.{q('from')} = {string(source)}) y WHERE y.k = 1) y")  # the first row per target and day
            if per_payee:  # every target the rates have, each row's rate to it
                targets = f"(SELECT DISTINCT {x}.{q('to')} FROM {q('t.fx_rates')} {x} WHERE {x}.{q('from')} = {string(source)} AND {x}.{q('to')} <> {string(source)}) t"
                on = f"t.{q('to')} = y.{q('to')} AND s.{q(r[3])} >= y.{q('date')}"
                frm = f"{src} s CROSS JOIN {targets} ASOF LEFT JOIN {first} ON {on}"
            else:
                first = first.replace(" WHERE ", f" WHERE {x}.{q('to')} = {string(target)} AND ", 1)
                frm = f"{src} s ASOF LEFT JOIN {first} ON s.{q(r[3])} >= y.{q('date')}"
            rows = f"SELECT s.__row, y.{q('to')}, y.rate FROM {frm}"
            if per_payee:  # and the amount's own currency at 1 (no reference to the payee's code in a sum: Spark)
                rows += f" UNION ALL SELECT s.__row, {string(source)}, {cast('1', s)} FROM {src} s"
            self.make(table, rows)
            row = ctx.rows[r[1]][0]
            joins = self.joins.setdefault(row, {})
            if ("~fx", table) not in joins:  # (the target of the payee's row: its code)
                target_on = f" AND {x}.{q('to')} = {to.sql}" if per_payee else ""
                joins["~fx", table] = (x, f" LEFT JOIN {q(table)} {x} ON {x}.__row = {row}.__row{target_on}")
            alias = joins["~fx", table][0]
            rate, missing = f"{alias}.rate", f"{alias}.rate IS NULL"
            per_payee = False  # (the amount's own currency is a row of the table)
        else:
            frm = f"FROM {q('t.fx_rates')} {x} WHERE {pair} AND {x}.{q('date')} <= {day.sql}"
            rate = f"(SELECT {x}.{q('rate')} {frm} ORDER BY {x}.{q('date')} DESC, {x}.__row LIMIT 1)"
            missing = f"NOT EXISTS (SELECT 1 {frm})"
        if per_payee:  # paid in the amount's own currency: as it is (the interpreter reads no rate)
            same = f"{to.sql} = {string(source)}"
            rate, missing = f"CASE WHEN {same} THEN 1 ELSE {rate} END", f"NOT ({same}) AND {missing}"
        err = any_err(amount.err, day.err, to.err, missing)
        return Val(cast(f"{amount.sql} * {cast(rate, s)}", amount.scale + s), "money", amount.scale + s, err)

    def lookup(self, index, column, ctx):
        """table[key].column: the cell of the row with that key (KR405 where there is none)."""
        table = index.obj.id
        spec = self.plan.inputs[table]
        key = self.loose(index.key, ctx)
        self.alias += 1
        alias = f"k{self.alias}"
        frm = f"FROM {q('t.' + table)} {alias} WHERE {alias}.{q(spec.key)} = {key.sql}"
        missing = f"({key.sql}) IS NOT NULL AND NOT EXISTS (SELECT 1 {frm})"
        cell = f"(SELECT min({alias}.{q(column)}) {frm})"
        r = getattr(index.key, "ref", None)
        if r and r[0] == "column" and r[1] < len(ctx.rows):
            # a column of a row as the key: every cell checked once before the run, and the
            # looked-up row joined to that row's FROM (a scalar subquery per use is slow)
            src, col = q("t." + r[2]), q(r[3])
            self.pending.append(("check", f"SELECT count(*) FROM {src} s WHERE s.{col} IS NOT NULL AND s.{col} "
                                          f"NOT IN (SELECT {q(spec.key)} FROM {q('t.' + table)})"))
            missing = None
            row = ctx.rows[r[1]][0]
            joins = self.joins.setdefault(row, {})
            if (table, r[3]) not in joins:
                joins[table, r[3]] = (alias, f" LEFT JOIN {q('t.' + table)} {alias} ON {alias}.{q(spec.key)} = {row}.{col}")
            cell = f"{joins[table, r[3]][0]}.{q(column)}"
        v = self.typed_cell(table, column, cell, index, nullable=key.nullable)
        return attrs.evolve(v, err=any_err(key.err, missing))

    def resolve(self, sql: str) -> str:
        """The statement with each row's joined lookups in its FROM (lookup)."""
        for row, joins in self.joins.items():
            sql = sql.replace(f" {row} /*joins*/", f" {row}" + "".join(j for _, j in joins.values()))
        return sql.replace(" /*joins*/", "")

    def call_money(self, node, ctx):
        v = self.exact(node.args[0], ctx)
        if len(node.args) == 2 and node.args[1].value != self.plan.currency:
            raise Refused("an amount in another currency", node)
        return Val(v.sql, "money", v.scale, v.err)

    def call_abs(self, node, ctx):
        v = self.exact(node.args[0], ctx)
        return Val(cast(f"abs({v.sql})", v.scale), v.kind, v.scale, v.err)

    def call_round(self, node, ctx):
        step_node, mode = node.args[1], node.args[2]
        step = ROUND_STEPS.get(step_node.id) if isinstance(step_node, ir.Name) else getattr(step_node, "value", None)
        mode = getattr(mode, "id", None)
        if step is None or mode not in MODES or step <= 0:
            raise Refused("round() with a step or mode that is not a literal", node)
        v = self.value(node.args[0], ctx)
        return self.rounded(v, step, mode, node, ctx)

    def rounded(self, v: Val, step: Decimal, mode: str, node, ctx: Ctx | None = None) -> Val:
        if ctx is not None:  # the rounding repeats its operand: computed once, into columns
            v = self.hoist(v, ctx)
        try:
            if v.ratio is not None:
                n, d = v.ratio
                snapped = None
                if ctx is not None and not ctx.rows:  # computed first, into a column
                    self.alias += 1
                    name = f"~s{self.alias}"
                    self.pending.append((f"d.{name}", Val(
                        f"(CASE WHEN {d.sql} = 0 THEN NULL ELSE {snapped_units(n.sql, n.scale, d.sql, d.scale)} END)", "units")))
                    snapped = f"f.{q('d.' + name)}"
                sql, s = round_ratio(n.sql, n.scale, d.sql, d.scale, step, mode, snapped)
            else:
                sql, s = round_exact(v.sql, v.scale, step, mode)
        except ValueError as why:
            raise Refused(str(why), node) from None
        err = any_err(v.err, ratio.doubt_places(v, ratio.GUARD) if v.derived else None)
        if err:
            sql = f"(CASE WHEN {err} THEN NULL ELSE {sql} END)"
        return Val(sql, v.kind, s, err)

    def call_min(self, node, ctx):
        return self.pick(node, ctx, "least")

    def call_max(self, node, ctx):
        return self.pick(node, ctx, "greatest")

    def pick(self, node, ctx, fn):
        if len(node.args) != 2:
            raise Refused(f"{node.func}() over rows", node)
        a, b = (self.value(x, ctx) for x in node.args)
        if a.ratio is not None or b.ratio is not None:  # the interpreter picks on unsnapped values
            try:
                first = ratio.exact_ordering("<=" if fn == "least" else ">=", a, b)
                return self.hoist(ratio.choose(first, a, b, a.kind, any_err(a.err, b.err)), ctx)
            except ValueError as why:
                raise Refused(str(why), node) from None
        s = max(a.scale, b.scale)
        return Val(cast(f"{fn}({cast(a.sql, s)}, {cast(b.sql, s)})", s), a.kind, s, any_err(a.err, b.err))

    def call_assignee(self, node, ctx):
        account, role, day = (self.exact(a, ctx) for a in node.args)
        if not isinstance(node.args[1], ir.String):
            raise Refused("assignee() with a role that is not a literal", node)
        if "assignments" not in self.plan.inputs:
            raise Refused("assignee() without assignments", node)
        def who(acct, d):
            return (f"(SELECT min(a.payee_id) FROM {q('t.assignments')} a WHERE a.account_id = {acct} "
                    f"AND a.role = {role.sql} AND a.start_date <= {d} AND (a.end_date IS NULL OR {d} <= a.end_date))")
        ra, rd = (getattr(node.args[i], "ref", None) for i in (0, 2))
        if ra and rd and ra[0] == rd[0] == "column" and ra[1] == rd[1] < len(ctx.rows):
            # the account and the day are columns of one row: each row's assignee computed once,
            # a table joined by __row (Spark cannot key a sum's rows by payee through the subquery)
            table = f"~asg.{ra[2]}.{ra[3]}.{node.args[1].value}.{rd[3]}"
            acct, d = f"s.{q(ra[3])}", f"s.{q(rd[3])}"
            self.make(table, f"SELECT s.__row, min(a.payee_id) AS payee FROM {q('t.' + ra[2])} s "
                             f"LEFT JOIN {q('t.assignments')} a ON a.account_id = {acct} AND a.role = {role.sql} "
                             f"AND a.start_date <= {d} AND (a.end_date IS NULL OR {d} <= a.end_date) GROUP BY s.__row")
            row = ctx.rows[ra[1]][0]
            joins = self.joins.setdefault(row, {})
            if ("~asg", table) not in joins:
                self.alias += 1
                joins["~asg", table] = (f"w{self.alias}", f" LEFT JOIN {q(table)} w{self.alias} ON w{self.alias}.__row = {row}.__row")
            return Val(f"{joins['~asg', table][0]}.payee", "text")
        return Val(who(account.sql, day.sql), "text")

    # -------------------------------------------------------------- decisions
    def decision(self, node, ctx):
        dec = self.plan.definitions[node.decision].node
        if dec.hit not in ("first", "unique"):
            raise Refused(f"a decision with `hit {dec.hit}`", node)
        args = [self.value(a, ctx) for a in node.args]
        params = dict(ctx.params)
        for (name, _), a in zip(dec.params, args):
            params[name] = a
        args = [self.comparable(a) for a in args]
        inner = attrs.evolve(ctx, params=params)
        conds, outs = [], []
        for row in dec.rows:
            parts = []
            for cell, a in zip(row.cells, args):
                parts.append(self.cell(cell, a, inner))
            conds.append(" AND ".join(parts) or "TRUE")
            outs.append(self.exact(row.output, inner))
        s = max((o.scale for o in outs), default=0)
        kind = outs[0].kind if outs else "number"
        whens = " ".join(f"WHEN {c} THEN {cast(o.sql, s) if o.kind in NUMERIC else o.sql}"
                         for c, o in zip(conds, outs))
        matched = " + ".join(f"(CASE WHEN {c} THEN 1 ELSE 0 END)" for c in conds)
        many = f"({matched}) <> 1" if dec.hit == "unique" else f"({matched}) = 0"
        out_err = None
        if any(o.err for o in outs):
            out_err = "CASE " + " ".join(f"WHEN {c} THEN {o.err or 'FALSE'}" for c, o in zip(conds, outs)) \
                + " ELSE FALSE END"
        return Val(f"(CASE {whens} END)", kind, s, any_err(*(a.err for a in args), many, out_err))

    def cell(self, cell, a: Val, ctx) -> str:
        if cell.kind == "any":
            return "TRUE"
        lo = self.exact(cell.lo, ctx) if cell.lo is not None else None
        hi = self.exact(cell.hi, ctx) if cell.hi is not None else None
        if (lo and lo.err) or (hi and hi.err):
            raise Refused("a decision bound that may stop the run", cell)
        ops = {"==": "="}
        if cell.kind == "eq":
            return "({} = {})".format(*aligned(a, lo))
        if cell.kind == "cmp":
            return "({} {} {})".format(aligned(a, lo)[0], ops.get(cell.op, cell.op), aligned(a, lo)[1])
        x, low, high = aligned(a, lo, hi)
        return f"({low} <= {x} AND {x} {ops.get(cell.op, cell.op)} {high})"
