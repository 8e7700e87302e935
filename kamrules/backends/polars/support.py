"""Which plans the columnar engine runs: a static pass over the lowered IR, before any data
is read.

`refusal(plan)` walks the plan as `Frame` translates it (frame.py, aggregate.py,
builtins.py, requires.py, holds.py, ledger.py) but computes nothing: each expression gets a
*shape* (a value, rows of a table with their conditions, a period, one row) in its context
(the frame of payee-periods; the rows of a table being filtered; the eligibility rule,
computed before any definition; a `require` rule, whose own row plays the payee). Where the
frame would raise `Unsupported`, the pass returns it, with the construct and its line. Where
a built-in may be called is the registry's (core.builtins: `Builtin.columnar`).

The pass is exact for the plan's constructs and conservative where the frame's choice
depends on values (an error mask that may or may not exist): it then refuses, and the
interpreter runs the plan. What only data decides (a join past limits.MAX_JOIN_PAIRS,
empty cells of `fx_rates`, a paid() chain past MAX_EXTRA_PERIODS) is not a property of the
plan: the engine still refuses it while it runs. tests/test_engines_static.py checks the
pass against the evaluation on every plan of the project and on generated plans.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.core.builtins import REGISTRY
from kamrules.core.currencies import payee_column
from kamrules.core.numeric import EXACT_PLACES, ROUNDING_RULES
from kamrules.backends.polars.values import Unsupported, conjuncts, looked_up
from kamrules.backends.polars.aggregate import _frame_only, _may_link, _only_row
from kamrules.backends.polars.holds import held
from kamrules.backends.polars.ledger import chain, dependent, paid_calls

NUMERIC = ("money", "rate", "number", "count")
ASSIGNMENT_COLUMNS = {"account_id", "payee_id", "role", "start_date", "end_date"}


@attrs.frozen
class Shape:
    """What an expression is on the frame: "val" (a column; `kind` its type), "rows" (of
    `table`, filtered by `conds`), "period" (`chain` of attributes from the calculation
    period), "row" (one row of `table`, `one(rows)`)."""
    what: str
    kind: str | None = None
    table: str | None = None
    conds: tuple = ()
    chain: tuple = ()


@attrs.frozen
class Ctx:
    table: str | None = None  # the rows being filtered (None: the frame)
    params: tuple = ()  # decision parameters in scope: ((name, Shape), ...)
    where: str = "payout"  # "payout" (a definition), "eligible", "rule" (a `require` rule)

    def param(self, name):
        return dict(self.params)[name]


def refusal(plan) -> Unsupported | None:
    """None when the columnar engine translates every construct of the plan, else the first
    one it does not (`Unsupported`: `what`, `line`)."""
    plan = ir_of(plan)
    try:
        Static(plan).run()
    except Unsupported as why:
        return why
    return None


def _refuse(what, node=None):
    raise Unsupported(what, node)


class Static:
    """The static mirror of frame.Frame (module doc)."""

    def __init__(self, plan, rule: bool = False):
        self.plan, self.rule = plan, rule
        # > 0 inside fx()'s amount, and for a plan paid in each payee's currency (engine.py)
        self.foreign = int(payee_column(plan.currency) is not None)
        self.done: set = set()  # aggregations and rowsets already checked (the frame caches them)
        self.computed: set = set()  # definitions computed so far (frame columns d.<name>)

    # -------------------------------------------------------------- the plan
    def run(self):
        plan = self.plan
        dependent(plan)  # paid() read by an aggregation or the eligibility rule
        for call in paid_calls(plan):
            chain(plan, call)
        for rule in plan.requires:
            rules = Static(attrs.evolve(plan, payees_table=rule.table), rule=True)
            v = rules.ev(rule.cond, Ctx(where="rule"))
            if v.what != "val" or v.kind != "bool":
                _refuse("a `require` condition that is not a condition", rule)
        if plan.round_mode not in ROUNDING_RULES:
            _refuse(f"the rounding mode {plan.round_mode}")
        if plan.eligible is not None:
            self.value(plan.eligible, Ctx(where="eligible"), "a definition that is a period or rows")
        for name, d in plan.definitions.items():
            if d.kind in ("param", "decision") or d.type.kind in ("rows", "row"):
                continue
            node = d.node
            if d.kind == "let":
                self.value(node.expr, Ctx(), "a definition that is a period or rows", node)
            else:
                for x in (node.valid_from, node.valid_to):
                    if x is not None:
                        self.ev(x, Ctx())
                if node.when is not None:
                    self.value(node.when, Ctx(), "a definition that is a period or rows")
                self.value(node.expr, Ctx(), "a definition that is a period or rows")
            self.computed.add(name)
        for name in held(plan):
            cond = plan.definitions[name].node.hold
            self.value(cond, Ctx(), "a `hold when` that is not a value")

    def value(self, node, ctx, why: str, at=None) -> Shape:
        v = self.ev(node, ctx)
        if v.what != "val":
            _refuse(why, node if at is None else at)
        return v

    # -------------------------------------------------------------- names
    def ref(self, node):
        """The node's ref; in a `require` rule, the rule's row is `outer` and every deeper row
        one level up (requires.RuleFrame.ref)."""
        r = getattr(node, "ref", None)
        if self.rule and r is not None and r[0] == "column":
            return ("outer", r[3]) if r[1] == 0 else ("column", r[1] - 1) + tuple(r[2:])
        return r

    def ev(self, node, ctx: Ctx) -> Shape:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            _refuse(f"{type(node).__name__} expressions", node)
        return method(node, ctx)

    def _Number(self, node, ctx):
        _literal(node)
        return Shape("val", "number")

    def _MoneyLit(self, node, ctx):
        if node.currency != self.plan.currency and not self.foreign:
            _refuse("an amount in another currency", node)
        _literal(node)
        return Shape("val", "money")

    def _String(self, node, ctx):
        return Shape("val", "text")

    def _Bool(self, node, ctx):
        return Shape("val", "bool")

    def _DateLit(self, node, ctx):
        return Shape("val", "date")

    def _PeriodLit(self, node, ctx):
        return Shape("period", chain=("literal",))

    def _column(self, table, column, node, ctx) -> Shape:
        if ctx.table != table:
            _refuse("a column of an outer row", node)
        spec = self.plan.inputs[table].columns[column]
        if spec.type.kind == "period":
            _refuse("a Period column outside `==`", node)
        self._currency(spec.type, node)
        return Shape("val", spec.type.kind)

    def _currency(self, type_, node):
        if type_.kind == "money" and type_.currency not in (None, self.plan.currency) and not self.foreign:
            _refuse("an amount in another currency", node)

    def _outer(self, column, node) -> Shape:
        spec = self.plan.inputs[self.plan.payees_table].columns[column]
        if spec.type.kind == "period" or spec.type.kind == "money" and \
                spec.type.currency not in (None, self.plan.currency):
            _refuse("this column in a `require` rule", node)
        return Shape("val", spec.type.kind)

    def _Name(self, node, ctx):
        r = self.ref(node)
        kind = r[0]
        if kind == "outer":
            return self._outer(r[1], node)
        if self.rule and kind in ("payee", "period"):
            _refuse("the payee or the period in a `require` rule", node)
        if kind == "column":
            if r[1] != 0:
                _refuse("nested rows", node)
            return self._column(r[2], r[3], node, ctx)
        if kind == "param":
            return ctx.param(r[1])
        if kind == "period":
            return Shape("period")
        if kind == "def":
            return self.definition(r[1], node, ctx)
        if kind == "table":
            return Shape("rows", table=r[1])
        _refuse(f"`{node.id}` as a value", node)

    def definition(self, name, node, ctx) -> Shape:
        d = self.plan.definitions[name]
        if d.kind == "param":
            return self.ev(d.node.expr, Ctx(where=ctx.where))
        if d.type.kind == "rows":
            key = ("rows", name)
            rows = self.ev(d.node.expr, Ctx(where=ctx.where))
            if rows.what != "rows":
                _refuse(f"`{name}` is not rows of a table", d.node)
            self.done.add(key)
            return rows
        if d.type.kind == "row":
            if not _is_one_rows(d.node.expr):
                _refuse(f"`{name}` is a row", node)
            return self.one_row(d.node.expr, Ctx(where=ctx.where))
        if name not in self.computed:
            _refuse(f"`{name}` used before it is computed", node)
        return Shape("val", d.type.kind)

    def _Where(self, node, ctx):
        src = self.ev(node.source, ctx)
        if src.what != "rows":
            _refuse("`where` on something else than rows of a table", node)
        return Shape("rows", table=src.table, conds=src.conds + tuple(conjuncts(node.cond)))

    def _Attr(self, node, ctx):
        r = self.ref(node)
        if r is None:
            _refuse("this attribute", node)
        if r[0] == "outer":
            return self._outer(r[1], node)
        if r[0] == "column":
            if r[1] != 0:
                _refuse("nested rows", node)
            return self._column(r[2], r[3], node, ctx)
        obj = node.obj
        if r[0] == "field" and isinstance(obj, ir.Index):
            return self.lookup(obj, node.name, ctx)
        if r[0] in ("row_id", "field"):
            row = self.row_value(obj, ctx)
            if row is not None:
                if r[0] == "row_id":
                    return Shape("val", "text")
                spec = self.plan.inputs[row.table].columns[node.name]
                if spec.type.kind == "period":
                    _refuse("a Period column of a row", node)
                self._currency(spec.type, node)
                return Shape("val", spec.type.kind)
            index = looked_up(self.plan, obj, self.ref)
            if index is not None and r[0] == "field" and ctx.table is None:  # `let t = table[key]`, `t.x`
                return self.lookup(index, node.name, ctx)
            if not (isinstance(obj, ir.Name) and self.ref(obj) == ("payee",)):
                _refuse("a field of a looked-up row", node)
            if self.rule:
                _refuse("the payee or the period in a `require` rule", node)
            if r[0] == "row_id":
                return Shape("val", "text")
            spec = self.plan.inputs[self.plan.payees_table].columns[node.name]
            if spec.type.kind == "period":
                _refuse("a Period column of the payee", node)
            return Shape("val", spec.type.kind)
        if r[0] == "period_attr":
            o = self.ev(obj, ctx)
            if o.what != "period" or o.chain[:1] == ("lookup",):
                _refuse("an attribute of a Period column", node)
            name = node.name
            if name in ("year", "quarter", "month", "previous", "year_to_date"):
                return Shape("period", chain=o.chain + (name,))
            if name in ("start", "end"):
                if not (o.chain and o.chain[-1] == "year_to_date"):
                    self.period_chain(o.chain)
                return Shape("val", "date")
            return Shape("val", "bool" if name.startswith("is_") else "text")
        _refuse("this attribute", node)

    def period_chain(self, chain_: tuple):
        if "year_to_date" in chain_:
            _refuse("a year-to-date range outside `date in ...`")

    def lookup(self, index, column, ctx) -> Shape:
        spec = self.plan.inputs[index.obj.id]
        col = spec.columns[column]
        if spec.key is None or col.type.kind == "period" and ctx.table is not None:
            _refuse("a lookup in a table without a key, or of a Period column", index)
        if col.type.kind == "money" and col.type.currency not in (None, self.plan.currency):
            _refuse("an amount in another currency", index)
        if self.ev(index.key, ctx).what != "val":
            _refuse("a lookup by rows or periods", index)
        if col.type.kind == "period":  # compared with periods only (== and !=)
            return Shape("period", chain=("lookup",))
        return Shape("val", col.type.kind)

    # -------------------------------------------------------------- operators
    def _Neg(self, node, ctx):
        return self.ev(node.expr, ctx)

    def _Not(self, node, ctx):
        self.ev(node.expr, ctx)
        return Shape("val", "bool")

    def _IfElse(self, node, ctx):
        self.ev(node.cond, ctx)
        a = self.ev(node.then, ctx)
        self.ev(node.else_, ctx)
        return a

    def _ListLit(self, node, ctx):
        _refuse("a list outside `x in [...]`", node)

    def _BinOp(self, node, ctx):
        op = node.op
        if op in ("and", "or"):
            self.ev(node.left, ctx)
            self.ev(node.right, ctx)
            return Shape("val", "bool")
        if op in ("in", "not in"):
            return self._in(node, ctx)
        a, b = self.ev(node.left, ctx), self.ev(node.right, ctx)
        if a.what == "period" or b.what == "period":
            if op not in ("==", "!=") or a.what != b.what:
                _refuse("a period compared with a Period column outside a filter", node)
            self.period_chain(a.chain)
            self.period_chain(b.chain)
            return Shape("val", "bool")
        if a.what == "rows" or b.what == "rows":
            _refuse("rows in an expression", node)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return Shape("val", "bool")
        if a.kind == "date" and b.kind == "date" and op == "-":
            return Shape("val", "number")
        if a.kind == "date" and op in "+-" and b.kind in NUMERIC:
            return Shape("val", "date")
        if a.kind == "date" or b.kind == "date":
            _refuse("this date arithmetic", node)
        return Shape("val", node.type.kind)

    def _in(self, node, ctx):
        a = self.ev(node.left, ctx)
        right = node.right
        if isinstance(right, ir.ListLit):
            items = [self.ev(x, ctx) for x in right.items]
            if any(i.what != "val" for i in items) or not all(self.errless(x) for x in right.items):
                _refuse("`in` a list of computed values", node)
            return Shape("val", "bool")
        b = self.ev(right, ctx)
        if b.what == "period" and a.what == "val" and a.kind == "date" and b.chain[:1] != ("lookup",):
            if not (b.chain and b.chain[-1] == "year_to_date"):
                self.period_chain(b.chain)
            return Shape("val", "bool")
        _refuse("this `in`", node)

    def errless(self, node) -> bool:
        """Is the expression's error mask surely absent on the frame (Col.err None)? False
        where it may not be: the frame's choice would then depend on it, and it is refused."""
        return self.surely(node, True)

    def present(self, node) -> bool:
        """Is the expression surely never empty (Col.nullable False)?"""
        return self.surely(node, False)

    def surely(self, node, errless: bool) -> bool:
        if isinstance(node, ir.LITERALS):
            return True
        r = self.ref(node)
        if isinstance(node, (ir.Name, ir.Attr)) and r is not None:
            if r[0] == "def":
                expr = self.value_of(r[1])
                return expr is not None and self.surely(expr, errless)
            if r[0] == "column":
                return errless or not self.plan.inputs[r[2]].columns[r[3]].optional
            if r[0] in ("outer", "period", "period_attr"):
                return errless
            if r[0] in ("field", "row_id") and isinstance(node, ir.Attr) and isinstance(node.obj, ir.Name) \
                    and self.ref(node.obj) == ("payee",):
                return errless or r[0] == "row_id" or not self.plan.inputs[self.plan.payees_table].columns[node.name].optional
            return False
        if isinstance(node, (ir.Neg, ir.BinOp)):  # an empty operand is an error of - and of + -
            return all(self.present(x) and (not errless or self.errless(x)) for x in _operands(node))
        return _counted(node)

    def value_of(self, name):
        """The expression of a param or a let (its column has no error mask of its own)."""
        d = self.plan.definitions[name]
        return d.node.expr if d.kind in ("param", "let") and isinstance(d.node, ir.Value) else None

    # -------------------------------------------------------------- calls
    def _Call(self, node, ctx):
        f = node.func
        if node.decision is not None:
            return self.decide(self.plan.definitions[node.decision], node, ctx)
        builtin = REGISTRY.get(f)
        if builtin is None:
            _refuse(f"{f}()", node)
        if f == "one" and not isinstance(node.args[0], ir.Each):
            row = self.one_row(node, ctx)
            return row
        aggregate = builtin.aggregate and not (f in ("min", "max") and len(node.args) == 2)
        where = builtin.columnar if aggregate or f not in ("min", "max") else "anywhere"
        if where in ("frame", "payout") and ctx.table is not None:
            if aggregate:
                _refuse("an aggregation inside a filter or a per-row expression", node)
            _refuse(f"{f}() inside a filter or a per-row expression"
                    if f != "paid" else "paid() inside a filter, a per-row value or the eligibility rule", node)
        if where == "payout" and ctx.where != "payout":
            if f == "paid":
                if ctx.where == "eligible":
                    _refuse("paid() inside a filter, a per-row value or the eligibility rule", node)
                _refuse("paid() in a `require` rule", node)
            _refuse(f"{f}() in the eligibility condition", node)
        if where == "row" and ctx.table is None:
            _refuse(f"{f}() outside a filter over rows", node)
        if aggregate:
            return self.aggregate(node)
        return getattr(self, "_call_" + f)(node, ctx)

    def args(self, node, ctx, why="rows or a period where a value is expected") -> list:
        out = []
        for a in node.args:
            v = self.ev(a, ctx)
            if v.what != "val":
                _refuse(why, a)
            out.append(v)
        return out

    def _call_round(self, node, ctx):
        x = self.ev(node.args[0], ctx)
        if node.args[2].id not in ROUNDING_RULES:
            _refuse(f"the rounding mode {node.args[2].id}")
        return Shape("val", x.kind)

    def _call_money(self, node, ctx):
        if len(node.args) == 2 and node.args[1].value != self.plan.currency:
            _refuse("an amount in another currency", node)
        self.ev(node.args[0], ctx)
        return Shape("val", "money")

    def _call_abs(self, node, ctx):
        return self.ev(node.args[0], ctx)

    def _call_min(self, node, ctx):
        a, _ = (self.ev(x, ctx) for x in node.args)
        return a

    _call_max = _call_min

    def _call_default(self, node, ctx):
        a, b = (self.ev(x, ctx) for x in node.args)
        if a.what != "val" or b.what != "val":
            _refuse("default() of rows or periods", node)
        return a if a.kind != "unknown" else b

    def _call_present(self, node, ctx):
        self.ev(node.args[0], ctx)
        return Shape("val", "bool")

    def _call_between(self, node, ctx):
        for a in node.args:
            self.ev(a, ctx)
        return Shape("val", "bool")

    def _call_days(self, node, ctx):
        for a in node.args:
            self.ev(a, ctx)
        return Shape("val", "number")

    def _call_assignee(self, node, ctx):
        account, role, day = node.args
        if not isinstance(role, ir.String):
            _refuse("assignee() with a computed role", node)
        self.ev(account, ctx)
        self.ev(day, ctx)
        spec = self.plan.inputs.get("assignments")
        if spec is None or not ASSIGNMENT_COLUMNS <= set(spec.columns):
            _refuse("assignee() without an assignments table")
        return Shape("val", "text")

    def _call_paid(self, node, ctx):
        chain(self.plan, node)
        return Shape("val", "money")

    def _call_manager_of(self, node, ctx):
        self.args(node, ctx)
        return Shape("val", "text")

    def _call_below(self, node, ctx):
        self.args(node, ctx)
        return Shape("val", "bool")

    def _call_prorate(self, node, ctx):
        self.args(node, ctx)
        return Shape("val", "rate")

    def _call_fx(self, node, ctx):
        amount, cur, day = node.args
        target = getattr(cur, "value", self.plan.currency)
        if target != self.plan.currency and not self.plan.currency.startswith("payee."):
            _refuse("fx() to another currency than the plan's", node)  # (a payee's: any code)
        if self.plan.currency.startswith("payee."):
            self.value(cur, ctx, "rows or a period where a value is expected")
        self.foreign += 1
        try:
            self.value(amount, ctx, "rows or a period where a value is expected")
        finally:
            self.foreign -= 1
        self.value(day, ctx, "rows or a period where a value is expected")
        return Shape("val", "money")

    def pool(self, node, ctx):
        if node.by is not None:
            self.value(node.by, ctx, "rows or a period where a value is expected")
            if self.may_approx(node.by):
                _refuse("a `by` value computed approximately", node)

    def _call_team_total(self, node, ctx):
        self.pool(node, ctx)
        self.value(node.args[0], ctx, "rows or a period where a value is expected")
        return Shape("val", node.type.kind)

    def _call_share(self, node, ctx):
        if ("share", node.uid) in self.done:
            return Shape("val", "money")
        self.pool(node, ctx)
        total, weight = self.args(node, ctx)
        if total.kind != "money" or weight.kind not in NUMERIC:
            _refuse("share() of these values", node)
        self.done.add(("share", node.uid))
        return Shape("val", "money")

    def may_approx(self, node, seen=None) -> bool:
        """May the value be approximate (a quotient, an average, a proration, a marginal
        curve, or a definition reading one)? Over-approximated: refused when it may."""
        seen = set() if seen is None else seen
        for n in ir.walk(node):
            if isinstance(n, ir.BinOp) and n.op == "/":
                return True
            if isinstance(n, ir.Call):
                if n.func in ("avg", "prorate"):
                    return True
                if n.decision is not None and n.decision not in seen:
                    seen.add(n.decision)
                    if self.may_approx(self.plan.definitions[n.decision].node, seen):
                        return True
            r = self.ref(n)
            if r is not None and r[0] == "def" and r[1] not in seen:
                seen.add(r[1])
                d = self.plan.definitions[r[1]].node
                if isinstance(d, ir.Decision):
                    if self.may_approx(d, seen):
                        return True
                    continue
                for x in (d.expr, getattr(d, "when", None)):
                    if x is not None and self.may_approx(x, seen):
                        return True
        if isinstance(node, ir.Decision):
            return node.hit == "marginal" or any(self.may_approx(r.output, seen) for r in node.rows)
        return False

    # -------------------------------------------------------------- rows
    def row_value(self, obj, ctx):
        if _is_one_rows(obj):
            return self.one_row(obj, ctx)
        if isinstance(obj, ir.Name):
            r = self.ref(obj)
            if r is not None and r[0] == "def" and self.plan.definitions[r[1]].type.kind == "row":
                d = self.plan.definitions[r[1]]
                return self.one_row(d.node.expr, Ctx(where=ctx.where)) if _is_one_rows(d.node.expr) else None
        return None

    def one_row(self, node, ctx) -> Shape:
        if ctx.table is not None:
            _refuse("one(rows) inside a filter or a per-row expression", node)
        rows = self.ev(node.args[0], Ctx(where=ctx.where))
        if rows.what != "rows":
            _refuse("one() of something else than rows", node)
        if ("one", node.uid) not in self.done:
            self.filtered(rows, ctx.where)
            self.done.add(("one", node.uid))
        return Shape("row", table=rows.table)

    def aggregate(self, node) -> Shape:
        fn, arg = node.func, node.args[0]
        value, source = (arg.expr, arg.source) if isinstance(arg, ir.Each) else (None, arg)
        kind = "count" if fn == "count" else "bool" if fn == "exists" else node.type.kind
        if ("agg", node.uid) in self.done:
            return Shape("val", kind)
        rows = self.ev(source, Ctx())
        if rows.what != "rows":
            _refuse(f"{fn}() of something else than rows", node)
        if value is not None:
            if self.ev(value, Ctx(rows.table)).what != "val":
                _refuse(f"{fn}() of rows or periods", node)
        elif fn not in ("count", "exists"):
            _refuse(f"{fn}() without a value (`{fn}(x for rows)`)", node)
        self.filtered(rows, "payout")
        self.done.add(("agg", node.uid))
        return Shape("val", kind)

    def filtered(self, rows: Shape, where: str):
        """The conditions of `rows`, as aggregate.py evaluates them: a conjunct that links
        the row to the payee-period has its frame side computed on the frame; any other is
        computed on the rows (its frame parts joined to them)."""
        on_rows = Ctx(rows.table, where=where)
        for c in rows.conds:
            if not self.link(c, on_rows):
                self.ev(c, on_rows)

    def link(self, c, on_rows) -> bool:
        """Is c surely a join key (aggregate._link)? Its sides are checked."""
        if not (isinstance(c, ir.BinOp) and _may_link(self, c)):
            return False
        if c.op == "==":
            for row_side, frame_side in ((c.left, c.right), (c.right, c.left)):
                if _frame_only(self, frame_side) and _only_row(self, row_side):
                    fv = self.ev(frame_side, Ctx())
                    if fv.what == "period":
                        r = self.ref(row_side)
                        if (r is not None and r[0] == "column" and r[1] == 0
                                and self.plan.inputs[r[2]].columns[r[3]].type.kind == "period"):
                            self.period_chain(fv.chain)
                            return True
                        return False
                    rv = self.ev(row_side, on_rows)
                    if fv.what != "val" or rv.what != "val" or not self.errless(frame_side):
                        return False
                    return not ({rv.kind, fv.kind} - set(NUMERIC)) or rv.kind == fv.kind
            return False
        if _frame_only(self, c.right) and _only_row(self, c.left):
            fv = self.ev(c.right, Ctx())
            if fv.what == "period" and (not fv.chain or fv.chain[-1] != "year_to_date"):
                rv = self.ev(c.left, on_rows)
                if rv.what == "val" and rv.kind == "date" and self.errless(c.left):
                    self.period_chain(fv.chain)
                    return True
        return False

    # -------------------------------------------------------------- decisions
    def decide(self, d, node, ctx) -> Shape:
        dec = d.node
        args = [self.ev(a, ctx) for a in node.args]
        if any(a.what != "val" for a in args):
            _refuse("a decision table on rows or periods", node)
        inner = attrs.evolve(ctx, params=ctx.params + tuple((n, a) for (n, _), a in zip(dec.params, args)))
        out = None
        for row in dec.rows:
            for cell in row.cells:
                ends = [x for x in (cell.lo, cell.hi) if x is not None and cell.kind != "any"]
                for x in ends:
                    self.ev(x, inner)
                if dec.hit != "marginal" and not all(self.errless(x) for x in ends):
                    _refuse("a decision cell that can fail", row)
            o = self.ev(row.output, inner)
            out = out or o
        kind = d.type.kind if d.type.kind != "unknown" else (out.kind if out else "number")
        return Shape("val", kind)


def _literal(node):
    exp = Decimal(node.value).as_tuple().exponent
    if isinstance(exp, int) and exp < -EXACT_PLACES:
        _refuse(f"the number {node.value} has more than {EXACT_PLACES} decimal places", node)


def _operands(node) -> tuple:
    """The operands of `-x` and of `a + b`, `a - b`; (None,) (never surely fine) otherwise."""
    if isinstance(node, ir.Neg):
        return (node.expr,)
    return (node.left, node.right) if node.op in ("+", "-") else (None,)


def _counted(node) -> bool:
    """count(rows) and exists(rows): a value on every frame row, never an error."""
    return isinstance(node, ir.Call) and node.func in ("count", "exists") and not isinstance(node.args[0], ir.Each)


def _is_one_rows(node) -> bool:
    return isinstance(node, ir.Call) and node.func == "one" and not isinstance(node.args[0], ir.Each)


__all__ = ["refusal", "Static"]
