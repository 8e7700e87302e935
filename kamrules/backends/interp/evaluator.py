"""The expression interpreter: values of definitions for one payee in one period, with trace.

Values: Money, Decimal (rates, numbers, counts), date, Period, bool, str, None (an empty
cell), Row, lists of Rows. Arithmetic runs in `money.CONTEXT`; an empty value reaching
arithmetic, a division by zero or a lookup that finds no row stops the run with a
diagnostic naming the plan line, the payee, the period and the data row.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kamrules.core import ir
from kamrules.core.currencies import codes, payee_column
from kamrules.core.calendar import Period, PeriodRange, parse_period
from kamrules.core.history import NONE, History
from kamrules.data.strict import Row
from kamrules.check.lower import ir_of
from kamrules.core.limits import MAX_INTEGER_DIGITS
from kamrules.core.numeric import Money, quantize, snap
from kamrules.check.tables import cell_matches
from kamrules.trace.tree import RowRef, TraceNode, show_value
from kamrules.backends.interp import select
from kamrules.backends.interp.arith import Problem, arith, out_of_range, plain_number, same_value
from kamrules.backends.interp.calls import BuiltinCalls, join_notes
from kamrules.backends.interp.conditions import traced_condition
from kamrules.core.calendar import period_attr

_WARM_AT = 40  # definitions nested this deep: evaluate the rest of the chain bottom-up (_warm)


class Context:
    """One payee in one period: memoised definitions and their trace nodes."""

    __slots__ = ("payee", "period", "memo", "eligible", "eligible_node")

    def __init__(self, payee: Row, period: Period):
        self.payee, self.period = payee, period
        self.memo: dict = {}
        self.eligible = None
        self.eligible_node = None  # the trace of `eligible when` (Evaluator.eligible_trace: its tests)


class Evaluator(BuiltinCalls):
    def __init__(self, plan, tables: dict, trace: bool = True, history: History = NONE):
        """plan: the lowered plan (core.ir.Plan), or a checked plan, lowered once (ir_of);
        history: the values paid() reads in the periods a ledger fixed (core.history)."""
        self.plan, self.tables, self.tracing = ir_of(plan), tables, trace
        self.history = history
        self.payees = tables[plan.payees_table].rows
        column = payee_column(self.plan.currency)  # `currency payee.COLUMN`: payee id -> its code
        self.pay_codes = codes(self.plan, ((r.id, r.values.get(column), r.number) for r in self.payees),
                               getattr(tables[plan.payees_table], "path", None)) \
            if column else {}
        self.contexts: dict = {}
        self.pools: dict = {}
        self.teams: dict = {}  # (team_total node uid, period, team) -> (members, total)
        self._members: dict | None = None  # team -> its payees, in payee order
        self.team_evaluations = 0  # member values computed for team_total() (tests: linear)
        self.stack: list[TraceNode] = []
        self.constants: dict = {}
        self.notes: list | None = None  # why-notes of the row being filtered or summed
        self.why: dict = {}  # (row table, row number, payee id) -> notes kept when the row passed a filter
        self._nest = 0  # definitions being evaluated, one inside the other
        self._warming = False

    # ---------------------------------------------------------------- contexts
    def context(self, payee: Row, period: Period) -> Context:
        key = (payee.id, period)
        ctx = self.contexts.get(key)
        if ctx is None:
            ctx = self.contexts[key] = Context(payee, period)
        return ctx

    def is_eligible(self, ctx: Context) -> bool:
        if ctx.eligible is None:
            if self.plan.eligible is None:
                ctx.eligible = True
            else:
                node = ctx.eligible_node = TraceNode("eligible", "eligible", self.plan.eligible.span)
                ctx.eligible = bool(self._in_node(node, lambda: self.ev(self.plan.eligible, ctx, ())))
        return ctx.eligible

    def eligible_trace(self, ctx: Context) -> TraceNode | None:
        """The trace of `eligible when` for ctx's payee and period with each test it reaches and
        the data each reads (backends/interp/conditions: what explain shows of a payee not
        eligible), None without the clause. Built on demand, not by every traced run: traced
        in every payee-period it made a traced run of a three-test condition twice as slow."""
        if self.plan.eligible is None:
            return None
        node = TraceNode("eligible", "eligible", self.plan.eligible.span)
        value = self._in_node(node, lambda: traced_condition(self, self.plan.eligible, ctx, node))
        if ctx.eligible is None:
            ctx.eligible = value
        ctx.eligible_node = node
        return node

    def _in_node(self, node: TraceNode, thunk):
        self.stack.append(node)
        try:
            value = thunk()
        finally:
            self.stack.pop()
        node.value = value
        return value

    def _child(self, node: TraceNode):
        if self.tracing and self.stack:
            children = self.stack[-1].children
            if not any(c is node for c in children):
                children.append(node)

    # ---------------------------------------------------------------- definitions
    def definition(self, ctx: Context, name: str):
        hit = ctx.memo.get(name)
        if hit is not None:
            self._child(hit[1])
            return hit[0]
        d = self.plan.definitions[name]
        if self._nest > _WARM_AT and not self._warming:
            self._warm(ctx, name)
            hit = ctx.memo.get(name)
            if hit is not None:
                self._child(hit[1])
                return hit[0]
        self._nest += 1
        try:
            if not self.tracing:  # no trace nodes at all when nobody will read them
                value = self.ev(d.node.expr, ctx, ())
                ctx.memo[name] = (value, None)
                return value
            node = TraceNode(name, d.kind, d.span, unit=d.type.kind)
            value = self._in_node(node, lambda: self.ev(d.node.expr, ctx, ()))
        except Problem as p:
            if p.ctx is None:  # the payee-period it belongs to (another payee's, in a pool)
                p.ctx = ctx
            raise
        finally:
            self._nest -= 1
        if self.tracing and isinstance(value, list):
            node.rows.extend(RowRef(r.table, r.number, r.id) for r in value)
        ctx.memo[name] = (value, node)
        self._child(node)
        return value

    def _warm(self, ctx: Context, name: str):
        """A long chain of definitions (`let x2 = x1 + 1`, ... thousands deep): evaluate the
        lets and params `name` reads, dependencies first, so that each evaluation finds its
        own dependencies computed and Python's recursion stays shallow. Values are the same
        as evaluated on demand (a definition has one value per payee and period); one that
        fails is left to fail again where the plan really reads it."""
        defs, needed, todo = self.plan.definitions, set(), [name]
        while todo:
            for dep in defs[todo.pop()].deps:
                if dep not in needed and dep in defs and defs[dep].kind in ("let", "param"):
                    needed.add(dep)
                    todo.append(dep)
        saved, self._warming = self.stack, True
        try:
            for dep in defs:  # the checker's order: dependencies first
                if dep in needed and dep not in ctx.memo:
                    self.stack = [TraceNode("(warm-up)", "let", None)] if self.tracing else []
                    try:
                        self.definition(ctx, dep)
                    except Problem:
                        pass
        finally:
            self.stack, self._warming = saved, False

    def component_exists(self, ctx: Context, name: str) -> bool:
        comp = self.plan.definitions[name].node
        if not self.is_eligible(ctx):
            return False
        lo = self.constant(comp.valid_from) if comp.valid_from is not None else None
        hi = self.constant(comp.valid_to) if comp.valid_to is not None else None
        if lo is not None and ctx.period.end < lo or hi is not None and ctx.period.start > hi:
            return False
        if comp.when is not None:
            key = ("when", name)
            if key not in ctx.memo:
                node = TraceNode(f"{name} (when)", "condition", comp.when.span)
                ctx.memo[key] = (bool(self._in_node(node, lambda: self.ev(comp.when, ctx, ()))), node)
            return ctx.memo[key][0]
        return True

    @staticmethod
    def _paid_amount(name: str, raw, d):
        """A component's value before rounding: Money, never empty (KR406 names the component)."""
        if raw is None:
            raise Problem("KR406", f"component `{name}` is empty (an empty cell or value reaches it)",
                          d.node.expr.span, "give it a value for every payee: default(x, 0 EUR), or a "
                          "condition with `when`")
        return raw

    def component(self, ctx: Context, name: str):
        """The rounded amount of a component (Money), or None when it does not exist."""
        key = ("component", name)
        hit = ctx.memo.get(key)
        if hit is not None:
            self._child(hit[1])
            return hit[0]
        if not self.component_exists(ctx, name):
            ctx.memo[key] = (None, TraceNode(name, "component", None, value=None, branch="absent"))
            return None
        d = self.plan.definitions[name]
        if not self.tracing:
            raw = self._paid_amount(name, self.ev(d.node.expr, ctx, ()), d)
            value = Money(self._rounded(raw.amount, d), raw.currency)
            ctx.memo[key] = (value, None)
            return value
        node = TraceNode(name, "component", d.span)
        if self.plan.definitions[name].node.when is not None and self.tracing:
            node.children.append(ctx.memo[("when", name)][1])
        raw = self._paid_amount(name, self._in_node(node, lambda: self.ev(d.node.expr, ctx, ())), d)
        amount = self._rounded(raw.amount, d)
        if amount != raw.amount:
            node.branch = f"rounded {self.plan.round_mode} from {raw.amount}"
        value = Money(amount, raw.currency)
        node.value = value
        ctx.memo[key] = (value, node)
        self._child(node)
        return value

    def _rounded(self, amount: Decimal, d) -> Decimal:
        """A component's amount rounded to the plan's step; beyond the supported range
        (MAX_INTEGER_DIGITS before the point) it is KR413, never a rounded guess."""
        try:
            out = quantize(amount, self.plan.round_step, self.plan.round_mode)
        except ArithmeticError as err:
            raise out_of_range(err, d.span) from None
        if out.is_finite() and out != 0 and out.adjusted() >= MAX_INTEGER_DIGITS:
            raise out_of_range(None, d.span, f"`{d.name}` is {out:.3E}")
        return out

    def constant(self, expr):
        """Evaluate a payee-independent expression once (validity bounds, params)."""
        key = expr.uid
        if key not in self.constants:
            self.constants[key] = self.ev(expr, None, ())
        return self.constants[key]

    # ---------------------------------------------------------------- expressions
    def ev(self, node, ctx, env):
        try:
            return getattr(self, "_" + type(node).__name__)(node, ctx, env)
        except ArithmeticError as err:  # Overflow, InvalidOperation, a date past 9999...
            raise out_of_range(err, node.span) from None

    def _Number(self, node, ctx, env):
        return node.value

    def _MoneyLit(self, node, ctx, env):
        return Money(node.value, node.currency)

    def _DateLit(self, node, ctx, env):
        return dt.date.fromisoformat(node.text)

    def _PeriodLit(self, node, ctx, env):
        return parse_period(node.text, self.plan.fiscal_start)

    def _String(self, node, ctx, env):
        return node.value

    def _Bool(self, node, ctx, env):
        return node.value

    def _ListLit(self, node, ctx, env):
        return [self.ev(x, ctx, env) for x in node.items]

    def _need_ctx(self, ctx, node):
        if ctx is None:
            raise Problem("KR206", "this value must not depend on the payee, the period or the data",
                          node.span, "validity dates are constants, e.g. from 2025-04-01 to 2025-06-30")

    def _Name(self, node, ctx, env):
        r = node.ref
        kind = r[0]
        if kind == "column":
            return env[r[1]].values[r[3]]
        if kind == "def":
            d = self.plan.definitions[r[1]]
            if ctx is None and d.kind == "param":
                return self.constant(d.node.expr)
            self._need_ctx(ctx, node)
            if d.kind == "component":
                v = self.component(ctx, r[1])
                return v if v is not None else Money(Decimal(0), self.plan.currency)
            return self.definition(ctx, r[1])
        if kind == "param":
            return env[-1][r[1]] if isinstance(env[-1], dict) else _find_params(env)[r[1]]
        if kind == "payee":
            self._need_ctx(ctx, node)
            return ctx.payee
        if kind == "period":
            self._need_ctx(ctx, node)
            return ctx.period
        if kind == "table":
            return self.tables[r[1]].rows
        raise AssertionError(r)

    def _Attr(self, node, ctx, env):
        r = node.ref
        if r is not None and r[0] == "column":
            return env[r[1]].values[r[3]]
        obj = self.ev(node.obj, ctx, env)
        if obj is None:
            return None
        if r[0] == "row_id":
            return obj.id
        if r[0] == "field":
            return obj.values[node.name]
        if r[0] == "period_attr":
            return period_attr(obj, node.name)
        raise AssertionError(r)

    def _Index(self, node, ctx, env):
        table = self.tables[node.obj.id]
        key = self.ev(node.key, ctx, env)
        if key is None:
            return None
        row = table.by_key().get(key)
        if row is None:
            raise Problem("KR405", f"no row of `{table.spec.name}` has {table.spec.key} = {key!r}",
                          node.span, f"check {table.path}, or guard with present(...)")
        return row

    def _Neg(self, node, ctx, env):
        v = self._operand(node.expr, ctx, env)
        return Money(-v.amount, v.currency) if isinstance(v, Money) else -v

    def _Not(self, node, ctx, env):
        return not self.ev(node.expr, ctx, env)

    def _IfElse(self, node, ctx, env):
        cond = self.ev(node.cond, ctx, env)
        if self.tracing and self.stack and not env:
            self.stack[-1].branch = join_notes(self.stack[-1].branch,
                                          f"line {node.span.line}: {'then' if cond else 'else'}")
        return self.ev(node.then if cond else node.else_, ctx, env)

    def _operand(self, node, ctx, env):
        v = self.ev(node, ctx, env)
        if v is None:
            raise Problem("KR406", "an empty value is used in a calculation" + _row_note(node, env, self.plan, ctx),
                          node.span, "declare a default: default(x, 0 EUR), or filter the rows: where present(x)")
        return v

    def _BinOp(self, node, ctx, env):
        op = node.op
        if op == "and":
            return bool(self.ev(node.left, ctx, env)) and bool(self.ev(node.right, ctx, env))
        if op == "or":
            return bool(self.ev(node.left, ctx, env)) or bool(self.ev(node.right, ctx, env))
        if op in ("==", "!="):
            a, b = self.ev(node.left, ctx, env), self.ev(node.right, ctx, env)
            same = (a is None and b is None) if a is None or b is None else same_value(a, b)
            return same if op == "==" else not same
        if op in ("in", "not in"):
            a, b = self.ev(node.left, ctx, env), self.ev(node.right, ctx, env)
            if a is None or b is None:
                res = False
            elif isinstance(b, (Period, PeriodRange)):
                res = b.contains_date(a) if isinstance(a, dt.date) else b.contains(a)
            else:
                res = any(same_value(a, x) for x in b)
            return res if op == "in" else not res
        a, b = self._operand(node.left, ctx, env), self._operand(node.right, ctx, env)
        if op in ("<", "<=", ">", ">="):
            x, y = (a.amount, b.amount) if isinstance(a, Money) else (a, b)
            x, y = snap(x), snap(y)
            return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        try:
            return arith(op, a, b, node)
        except Problem as err:
            if err.code == "KR407" and err.span is node.span:  # this division: name the divisor's row
                err.message += _row_note(node.right, env, self.plan, ctx, "0")
            raise

    def _Where(self, node, ctx, env):
        flt = node.filter
        depth = len(env)
        source = node.source
        base_table = None
        if isinstance(source, ir.Name) and source.ref == ("table", source.id):
            base_table = self.tables[source.id]
        keys = [self.ev(e, ctx, env) for _, e in flt.eq]
        periods = [self.ev(e, ctx, env) for _, e in flt.in_period]
        if base_table is not None:
            grouped = select.grouped_rows(self, node, flt, base_table, ctx, env, keys, periods)
            if grouped is not None:
                return grouped
            rows = select.candidates(base_table, flt, keys, periods)
            for col, role_expr, who_expr in flt.assigned:
                via = self._assigned_rows(base_table, col, self.ev(role_expr, ctx, env),
                                          self.ev(who_expr, ctx, env))
                if rows is None or len(via) < len(rows):
                    rows = via
            if rows is None:
                rows = base_table.rows
        else:
            rows = self.ev(source, ctx, env)
        out = []
        saved = self.notes
        who = ctx.payee.id if ctx is not None else None
        try:
            for row in rows:
                if not select.row_passes_index(row, flt, keys, periods):
                    continue
                inner = env + (row,)
                self.notes = [] if self.tracing else None
                if all(self.ev(c, ctx, inner) for c in flt.rest):
                    out.append(row)
                    if self.notes:
                        self.why[(row.table, row.number, who)] = tuple(self.notes)
        finally:
            self.notes = saved
        del depth
        return out

    def _assigned_rows(self, table, column, role, payee_id):
        """Rows of `table` whose `column` names an account ever assigned to payee_id in role,
        in file order (the exact day is checked by the conjunct itself)."""
        assignments = self.tables.get("assignments")
        if assignments is None or payee_id is None:
            return []
        accounts = {r.values["account_id"] for r in assignments.index("payee_id").get(payee_id, ())
                    if r.values["role"] == role}
        index = table.index(column)
        rows = [r for a in accounts for r in index.get(a, ())]
        rows.sort(key=lambda r: r.number)
        return rows

    # ---------------------------------------------------------------- calls
    def _Call(self, node, ctx, env):
        if node.decision is not None:
            return self._decide(self.plan.definitions[node.decision], node, ctx, env)
        return getattr(self, "_call_" + node.func)(node, ctx, env)

    def match_rows(self, dec, args, ctx, env, node, strict=True):
        """(value, matched row numbers) of decision table `dec` on `args`, following its hit
        policy; with strict, two rows matching under `hit unique` is an error."""
        params = {name: v for (name, _), v in zip(dec.params, args)}
        inner = env + (params,)
        total, matched = None, []
        for k, row in enumerate(dec.rows, 1):
            ok = True
            for cell, x in zip(row.cells, args):
                lo = self.ev(cell.lo, ctx, inner) if cell.lo is not None else None
                hi = self.ev(cell.hi, ctx, inner) if cell.hi is not None else None
                xv, lv, hv = (snap(plain_number(x)), snap(plain_number(lo)), snap(plain_number(hi)))
                if not cell_matches(cell, xv, lv, hv):
                    ok = False
                    break
            if not ok:
                continue
            matched.append(k)
            value = self.ev(row.output, ctx, inner)
            if dec.hit == "collect_sum":
                total = value if total is None else arith("+", total, value, node)
                continue
            if dec.hit == "first" or len(matched) == 1:
                total = value
                if dec.hit == "first":
                    break
            elif strict:
                raise Problem("KR302", f"rows {matched[0]} and {k} of `{dec.name}` both match "
                              f"{', '.join(show_value(a) for a in args)}", row.span,
                              "make the rows disjoint or declare `hit first`")
        return total, matched

    def _decide(self, d, node, ctx, env):
        dec = d.node
        args = [self._operand(a, ctx, env) for a in node.args]
        if dec.hit == "marginal":
            return self.marginal(dec, args[0], ctx, env, node)
        total, matched = self.match_rows(dec, args, ctx, env, node)
        if not matched:
            if dec.hit == "collect_sum":
                return Money(Decimal(0), self.plan.currency) if d.type.kind == "money" else Decimal(0)
            raise Problem("KR301", f"no row of `{dec.name}` matches "
                          f"{', '.join(f'{n} = {show_value(a)}' for (n, _), a in zip(dec.params, args))}",
                          node.span, f"add a row to `{dec.name}` that covers this value")
        if self.tracing and self.notes is not None:
            self.notes.append(f"{dec.name} row {matched[0]}")
        elif self.tracing and self.stack:
            cells = " | ".join(c.shown for c in dec.rows[matched[0] - 1].cells)
            tn = TraceNode(f"{dec.name}({', '.join(show_value(a) for a in args)})", "decision", dec.span,
                           value=total, branch=f"row {matched[0]}: | {cells} |" if len(matched) == 1
                           else f"rows {', '.join(map(str, matched))}")
            self._child(tn)
        return total

def _find_params(env):
    for frame in reversed(env):
        if isinstance(frame, dict):
            return frame
    raise AssertionError("no params frame")




def _row_note(node, env, plan, ctx=None, value: str = "empty") -> str:
    """Where the empty value (or the zero divisor, `value` "0") comes from: a column of the row
    being read, or a column of the payee's row read directly or through lets (`let cap =
    payee.annual_cap`)."""
    r = getattr(node, "ref", None)
    if r and r[0] == "column":
        row = env[r[1]]
        return f": `{r[3]}` is {value} in row {row.number} of {row.table} ({row.id})"
    through = []
    while r and r[0] == "def" and len(through) < 20 and plan.definitions[r[1]].kind == "let":
        through.append(r[1])
        node = plan.definitions[r[1]].node.expr
        r = getattr(node, "ref", None)
    if isinstance(node, ir.Attr) and r and r[0] == "field" and ctx is not None \
            and getattr(node.obj, "ref", None) == ("payee",):
        row = ctx.payee
        via = f"`{through[0]}` is `payee.{node.name}`, which " if through else f"`payee.{node.name}` "
        return f": {via}is {value} for payee {row.id} (row {row.number} of {row.table})"
    return ""
