"""The expression interpreter: values of definitions for one payee in one period, with trace.

Values: Money, Decimal (rates, numbers, counts), date, Period, bool, str, None (an empty
cell), Row, lists of Rows. Arithmetic runs in `money.CONTEXT`; an empty value reaching
arithmetic, a division by zero or a lookup that finds no row stops the run with a
diagnostic naming the plan line, the payee, the period and the data row.
"""
from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal

from .. import ast
from ..calendar import Period, PeriodRange, parse_period, year_to_date
from ..data import Row
from ..diagnostics import Diagnostic, KamError
from ..ir import CheckedPlan
from ..limits import MAX_DATE, MAX_INTEGER_DIGITS
from ..money import CENT, CONTEXT, Imprecise, Money, compute, quantize, snap
from ..tables import cell_matches, describe
from ..trace import RowRef, TraceNode, show_value
from . import select

_STEPS = {"cent": Decimal("0.01"), "unit": Decimal("1")}
_WARM_AT = 40  # definitions nested this deep: evaluate the rest of the chain bottom-up (_warm)


class Problem(Exception):
    def __init__(self, code, message, span, hint=None):
        super().__init__(message)
        self.code, self.message, self.span, self.hint = code, message, span, hint


class Context:
    """One payee in one period: memoised definitions and their trace nodes."""

    __slots__ = ("payee", "period", "memo", "eligible")

    def __init__(self, payee: Row, period: Period):
        self.payee, self.period = payee, period
        self.memo: dict = {}
        self.eligible = None


class Evaluator:
    def __init__(self, plan: CheckedPlan, tables: dict, trace: bool = True):
        self.plan, self.tables, self.tracing = plan, tables, trace
        self.payees = tables[plan.payees_table].rows
        self.contexts: dict = {}
        self.pools: dict = {}
        self.teams: dict = {}  # (id(team_total node), period, team) -> (members, total)
        self._members: dict | None = None  # team -> its payees, in payee order
        self.team_evaluations = 0  # member values computed for team_total() (tests: linear)
        self.stack: list[TraceNode] = []
        self.constants: dict = {}
        self.notes: list | None = None  # why-notes of the row being filtered or summed
        self.why: dict = {}  # (id(row), payee id) -> notes kept when the row passed a filter
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
                node = TraceNode("eligible", "eligible", self.plan.eligible.span)
                ctx.eligible = bool(self._in_node(node, lambda: self.ev(self.plan.eligible, ctx, ())))
        return ctx.eligible

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
            raw = self.ev(d.node.expr, ctx, ())
            value = Money(self._rounded(raw.amount, d), raw.currency)
            ctx.memo[key] = (value, None)
            return value
        node = TraceNode(name, "component", d.span)
        if self.plan.definitions[name].node.when is not None and self.tracing:
            node.children.append(ctx.memo[("when", name)][1])
        raw = self._in_node(node, lambda: self.ev(d.node.expr, ctx, ()))
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
        key = id(expr)
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

    def _Paren(self, node, ctx, env):
        return self.ev(node.expr, ctx, env)

    def _ListLit(self, node, ctx, env):
        return [self.ev(x, ctx, env) for x in node.items]

    def _need_ctx(self, ctx, node):
        if ctx is None:
            raise Problem("KR206", "this value must not depend on the payee, the period or the data",
                          node.span, "validity dates are constants, e.g. from 2025-04-01 to 2025-06-30")

    def _Name(self, node, ctx, env):
        r = self.plan.resolution[id(node)]
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
        r = self.plan.resolution.get(id(node))
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
            self.stack[-1].branch = _join(self.stack[-1].branch,
                                          f"line {node.span.line}: {'then' if cond else 'else'}")
        return self.ev(node.then if cond else node.else_, ctx, env)

    def _operand(self, node, ctx, env):
        v = self.ev(node, ctx, env)
        if v is None:
            raise Problem("KR406", "an empty value is used in a calculation" + _row_note(node, env, self.plan),
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
            same = (a is None and b is None) if a is None or b is None else _eq(a, b)
            return same if op == "==" else not same
        if op in ("in", "not in"):
            a, b = self.ev(node.left, ctx, env), self.ev(node.right, ctx, env)
            if a is None or b is None:
                res = False
            elif isinstance(b, (Period, PeriodRange)):
                res = b.contains_date(a) if isinstance(a, dt.date) else b.contains(a)
            else:
                res = any(_eq(a, x) for x in b)
            return res if op == "in" else not res
        a, b = self._operand(node.left, ctx, env), self._operand(node.right, ctx, env)
        if op in ("<", "<=", ">", ">="):
            x, y = (a.amount, b.amount) if isinstance(a, Money) else (a, b)
            x, y = snap(x), snap(y)
            return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        return arith(op, a, b, node)

    def _Where(self, node, ctx, env):
        flt = self.plan.filters[id(node)]
        depth = len(env)
        source = node.source
        base_table = None
        if isinstance(source, ast.Name) and self.plan.resolution.get(id(source)) == ("table", source.id):
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
                        self.why[(id(row), who)] = tuple(self.notes)
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
        f = node.func
        d = self.plan.definitions.get(f)
        if d is not None and d.kind == "decision":
            return self._decide(d, node, ctx, env)
        return getattr(self, "_call_" + f)(node, ctx, env)

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
                xv, lv, hv = (snap(_num(x)), snap(_num(lo)), snap(_num(hi)))
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
            cells = " | ".join(describe(c, _cell_text) for c in dec.rows[matched[0] - 1].cells)
            tn = TraceNode(f"{dec.name}({', '.join(show_value(a) for a in args)})", "decision", dec.span,
                           value=total, branch=f"row {matched[0]}: | {cells} |" if len(matched) == 1
                           else f"rows {', '.join(map(str, matched))}")
            self._child(tn)
        return total

    def _each_rows(self, arg, ctx, env):
        return self.ev(arg.source, ctx, env)

    def _aggregate(self, node, ctx, env, kind):
        arg = node.args[0]
        agg = TraceNode(_short(node), "aggregate", node.span) if self.tracing and not env else None
        who = ctx.payee.id if ctx is not None else None
        if isinstance(arg, ast.Each):
            rows = self._each_rows(arg, ctx, env)
            values = []
            saved = self.notes
            try:
                for row in rows:
                    self.notes = [] if agg is not None else None
                    v = self.ev(arg.expr, ctx, env + (row,))
                    values.append(v)
                    if agg is not None:
                        why = self.why.get((id(row), who), ()) + tuple(self.notes)
                        agg.rows.append(RowRef(row.table, row.number, row.id, v, why))
            finally:
                self.notes = saved
        else:
            rows = self.ev(arg, ctx, env)
            values = rows
            if agg is not None:
                agg.rows.extend(RowRef(r.table, r.number, r.id, None, self.why.get((id(r), who), ()))
                                for r in rows)
        result = kind(values, rows, arg)
        if agg is not None:
            agg.value = result
            self._child(agg)
        return result

    def _total(self, node, values, rows, arg):
        t = self.plan.types[id(node)]
        acc = Money(Decimal(0), t.currency) if t.kind == "money" else Decimal(0)
        for v, row in zip(values, rows):
            if v is None:
                raise Problem("KR406", "an empty value is summed" + _row_ref(row, self.tables),
                              arg.expr.span, "filter the rows with present(...) or use default(...)")
            acc = arith("+", acc, v, node)
        return acc

    def _call_sum(self, node, ctx, env):
        return self._aggregate(node, ctx, env, lambda values, rows, arg: self._total(node, values, rows, arg))

    def _call_avg(self, node, ctx, env):
        def average(values, rows, arg):  # the trace node holds the average, not the sum
            total = self._total(node, values, rows, arg)
            if not rows:
                raise Problem("KR405", "avg() over no rows", node.span, "guard with exists(...)")
            return arith("/", total, Decimal(len(rows)), node)
        return self._aggregate(node, ctx, env, average)

    def _call_count(self, node, ctx, env):
        return self._aggregate(node, ctx, env, lambda values, rows, arg: Decimal(len(rows)))

    def _call_exists(self, node, ctx, env):
        return self._aggregate(node, ctx, env, lambda values, rows, arg: len(rows) > 0)

    def _minmax(self, node, ctx, env, pick):
        if len(node.args) == 2:
            a, b = (self._operand(x, ctx, env) for x in node.args)
            x, y = (a.amount, b.amount) if isinstance(a, Money) else (a, b)
            return a if pick(x, y) == x else b

        def best(values, rows, arg):
            present = [v for v in values if v is not None]
            if not present:
                raise Problem("KR405", f"{node.func}() over no rows", node.span, "guard with exists(...)")
            out = present[0]
            for v in present[1:]:
                x, y = (out.amount, v.amount) if isinstance(v, Money) else (out, v)
                if pick(x, y) != x:
                    out = v
            return out
        return self._aggregate(node, ctx, env, best)

    def _call_min(self, node, ctx, env):
        return self._minmax(node, ctx, env, min)

    def _call_max(self, node, ctx, env):
        return self._minmax(node, ctx, env, max)

    def _call_one(self, node, ctx, env):
        def only(values, rows, arg):
            if len(rows) != 1:
                where = f" for payee {ctx.payee.id} in {ctx.period}" if ctx is not None else ""
                found = "no row" if not rows else f"{len(rows)} rows (" + ", ".join(
                    f"row {r.number}" for r in rows[:5]) + ")"
                raise Problem("KR405", f"one() expects exactly one row{where}, found {found}",
                              node.span, "make the filter select a single row, or use sum/max")
            return values[0]
        return self._aggregate(node, ctx, env, only)

    def _call_round(self, node, ctx, env):
        x = self._operand(node.args[0], ctx, env)
        step_node, mode = node.args[1], node.args[2].id
        step = _STEPS[step_node.id] if isinstance(step_node, ast.Name) else step_node.value
        if isinstance(x, Money):
            return Money(quantize(x.amount, step, mode), x.currency)
        return quantize(x, step, mode)

    def _call_money(self, node, ctx, env):
        v = self._operand(node.args[0], ctx, env)
        cur = node.args[1].value if len(node.args) == 2 else self.plan.currency
        return v if isinstance(v, Money) else Money(v, cur)

    def _call_abs(self, node, ctx, env):
        v = self._operand(node.args[0], ctx, env)
        return Money(abs(v.amount), v.currency) if isinstance(v, Money) else abs(v)

    def _call_default(self, node, ctx, env):
        v = self.ev(node.args[0], ctx, env)
        return v if v is not None else self.ev(node.args[1], ctx, env)

    def _call_present(self, node, ctx, env):
        return self.ev(node.args[0], ctx, env) is not None

    def _call_between(self, node, ctx, env):
        x, lo, hi = (self.ev(a, ctx, env) for a in node.args)
        if x is None:
            return False
        if lo is None or hi is None:
            raise Problem("KR406", "between() bounds are empty", node.span)
        x, lo, hi = (_num(v) for v in (x, lo, hi))
        return lo <= x <= hi

    def _call_days(self, node, ctx, env):
        a, b = (self._operand(x, ctx, env) for x in node.args)
        return Decimal((b - a).days)

    def _call_assignee(self, node, ctx, env):
        account, role, day = (self.ev(a, ctx, env) for a in node.args)
        if account is None or day is None:
            return None
        table = self.tables["assignments"]
        found = [r for r in table.index("account_id").get(account, ())
                 if r.values["role"] == role and r.values["start_date"] <= day
                 and (r.values["end_date"] is None or day <= r.values["end_date"])]
        if len(found) > 1:
            raise Problem("KR405", f"{len(found)} `{role}` assignments of {account} on {day} (rows "
                          + ", ".join(str(r.number) for r in found) + ")", node.span,
                          "assignments of one role must not overlap; fix the end_date of the old one")
        if found and self.notes is not None:
            a = found[0]
            self.notes.append(f"{role} of {account} on {day}: assignments row {a.number} "
                              f"({a.values['payee_id']} from {a.values['start_date']})")
        return found[0].values["payee_id"] if found else None

    def _call_paid(self, node, ctx, env):
        name = node.args[0].id
        within = self.ev(node.args[1], ctx, env)
        total = Decimal(0)
        tn = TraceNode(f"paid({name}, {within})", "paid", node.span)
        for p in within.subperiods(self.plan.period_kind):
            if p >= ctx.period:  # earlier periods only: what was paid before this one
                break
            other = self.context(ctx.payee, p)
            saved, self.stack = self.stack, [tn]
            try:
                v = self.component(other, name)
            finally:
                self.stack = saved
            if v is not None:
                total += v.amount
        value = Money(total, self.plan.currency)
        tn.value = value
        self._child(tn)
        return value

    def _call_prorate(self, node, ctx, env):
        start, end = (self.ev(a, ctx, env) for a in node.args)
        p = ctx.period
        lo = max(p.start, start) if start is not None else p.start
        hi = min(p.end, end) if end is not None else p.end
        total = (p.end - p.start).days + 1
        active = max(0, (hi - lo).days + 1)
        if self.tracing and self.stack:
            self.stack[-1].branch = _join(self.stack[-1].branch,
                                          f"prorated {active} of {total} days in {p}")
        return Decimal(active) / Decimal(total)

    def _call_team_total(self, node, ctx, env):
        team = ctx.payee.values.get("team")
        members, acc = self._team_values(node, ctx.period, team)
        tn = TraceNode(f"team_total({team})", "team", node.span)
        if self.tracing:
            for payee, v in members:
                if payee.id == ctx.payee.id:  # the payee's own value, traced in place
                    self.ev(node.args[0], ctx, ())
                tn.rows.append(RowRef(payee.table, payee.number, payee.id, v))
        tn.value = acc
        self._child(tn)
        return acc

    def _team_values(self, node, period, team):
        """([(member, value)], total) of team_total(node) for `team` in `period`: computed
        once per call site, period and team (linear in payees), in payee order."""
        key = (id(node), period, team)
        found = self.teams.get(key)
        if found is not None:
            return found
        if self._members is None:
            self._members = {}
            for payee in self.payees:
                self._members.setdefault(payee.values.get("team"), []).append(payee)
        t = self.plan.types[id(node)]
        acc = Money(Decimal(0), t.currency) if t.kind == "money" else Decimal(0)
        members = []
        for payee in self._members.get(team, ()):
            other = self.context(payee, period)
            if not self.is_eligible(other):
                continue
            saved, self.stack = self.stack, [TraceNode("member", "team", None)]
            try:
                self.team_evaluations += 1
                v = self.ev(node.args[0], other, ())
            finally:
                self.stack = saved
            if v is None:
                raise Problem("KR406", f"team_total(): the value is empty for payee {payee.id}",
                              node.args[0].span)
            acc = arith("+", acc, v, node)
            members.append((payee, v))
        self.teams[key] = found = (members, acc)
        return found

    def _call_fx(self, node, ctx, env):
        amount = self._operand(node.args[0], ctx, env)
        target = node.args[1].value
        day = self._operand(node.args[2], ctx, env)
        if amount.currency == target:
            return amount
        rates = self.tables["fx_rates"].index("from").get(amount.currency, ())
        best = None
        for r in rates:
            if r.values["to"] == target and r.values["date"] <= day:
                if best is None or r.values["date"] > best.values["date"]:
                    best = r
        if best is None:
            raise Problem("KR405", f"no fx rate {amount.currency}->{target} on or before {day}",
                          node.span, f"add a row to fx_rates: date <= {day}, from {amount.currency}, "
                                     f"to {target}")
        if self.tracing and self.stack:
            self.stack[-1].rows.append(RowRef(best.table, best.number, best.id, best.values["rate"]))
        return Money(amount.amount * best.values["rate"], target)

    def _call_share(self, node, ctx, env):
        key = (id(node), ctx.period)
        if key not in self.pools:
            total = self._operand(node.args[0], ctx, env)
            weights, totals = {}, {ctx.payee.id: total}
            for payee in self.payees:
                other = self.context(payee, ctx.period)
                if not self.is_eligible(other):
                    continue
                saved, self.stack = self.stack, [TraceNode("weight", "share", None)]
                try:
                    w = self.ev(node.args[1], other, ())
                    if payee.id not in totals:
                        totals[payee.id] = self._operand(node.args[0], other, env)
                finally:
                    self.stack = saved
                weights[payee.id] = w
            _one_total(totals, node, ctx.period)
            self.pools[key] = (allocate(total, weights), weights)
        shares, weights = self.pools[key]
        value = shares.get(ctx.payee.id, Money(Decimal(0), self.plan.currency))
        tn = TraceNode("share", "share", node.span, value=value,
                       branch=f"weight {show_value(weights.get(ctx.payee.id))} of "
                              f"{show_value(sum((w for w in weights.values() if w is not None and w > 0), Decimal(0)))}")
        self._child(tn)
        return value


def _one_total(totals: dict, node, period) -> None:
    """A pool is split once: its total must be the same for every payee (KR416)."""
    groups: list = []  # [(total, [payee ids])], in payee id order
    for pid in sorted(totals):
        v = totals[pid]
        for value, ids in groups:
            if _eq(value, v):
                ids.append(pid)
                break
        else:
            groups.append((v, [pid]))
    if len(groups) < 2:
        return
    shown = [f"{ids[0]} has {_exact(value)}" + (f" (like {len(ids) - 1} other payee"
                                                 f"{'s' * (len(ids) > 2)})" if len(ids) > 1 else "")
             for value, ids in groups[:4]]
    more = f", and {len(groups) - 4} other totals" if len(groups) > 4 else ""
    raise Problem("KR416", f"a pool's total is not one value: in {period}, " + ", ".join(shown) + more,
                  node.span, "a pool's total must not depend on the payee: compute it from data that is "
                             "the same for everyone, or use share(..., by ...) (coming)")


def _exact(v) -> str:
    """A money amount as read (to the cent) unless the cents hide digits."""
    if isinstance(v, Money):
        text = show_value(v)
        return text if Decimal(text.split()[0]) == v.amount else f"{v.amount} {v.currency}"
    return show_value(v)


def allocate(total: Money, weights: dict) -> dict:
    """Split `total` by weight, to the cent, adding up exactly (largest remainder).

    Weights <= 0 or empty get nothing and take no part; leftover cents go one each to the
    largest remainders, ties to the lowest payee id.
    """
    with decimal.localcontext(CONTEXT):
        active = {k: w for k, w in weights.items() if w is not None and w > 0}
        out = {k: Money(Decimal("0.00"), total.currency) for k in weights}
        if not active:
            return out
        s = sum(active.values(), Decimal(0))
        exact = {k: total.amount * w / s for k, w in active.items()}
        floors = {k: quantize(v, CENT, "floor") for k, v in exact.items()}
        left = int(((total.amount - sum(floors.values(), Decimal(0))) / CENT).to_integral_value())
        order = sorted(active, key=lambda k: (-snap(exact[k] - floors[k]), k))  # a true tie: by id
        for k in order[:max(left, 0)]:
            floors[k] += CENT
        for k, v in floors.items():
            out[k] = Money(v, total.currency)
        return out


def arith(op, a, b, node):
    try:
        if isinstance(a, Money) or isinstance(b, Money):
            return _money_arith(op, a, b)
        if isinstance(a, dt.date):
            if isinstance(b, dt.date):
                return Decimal((a - b).days)
            days = dt.timedelta(days=int(b))
            return a + days if op == "+" else a - days
        return compute(op, a, b)
    except Imprecise as err:
        raise Problem("KR415", f"this result needs more precision than kamrules keeps exactly: {err}",
                      node.span, "round an intermediate value (round(x, cent, half_up)) or use fewer "
                      "decimals in the data") from None
    except decimal.DivisionByZero:
        raise Problem("KR407", "division by zero", node.span,
                      "guard the divisor: if x == 0 then ... else ...") from None
    except decimal.InvalidOperation as err:
        if op == "/" and _num(b) == 0:
            raise Problem("KR407", "undefined operation (0 / 0)", node.span,
                          "guard the divisor: if x == 0 then ... else ...") from None
        raise out_of_range(err, node.span) from None
    except (ArithmeticError, ValueError) as err:  # Overflow; a date before year 1 or after 9999
        raise out_of_range(err, node.span) from None


def out_of_range(err, span, what: str | None = None) -> Problem:
    """KR413: a value the computation cannot hold (an amount beyond the supported digits, a
    date past the calendar's end); the run stops on it, naming the expression."""
    if what is None:
        what = "a date beyond the calendar (years 1 to 9999)" if isinstance(err, (OverflowError, ValueError)) \
            else "a number beyond the supported digits"
    return Problem("KR413", f"value out of range during the computation: {what}", span,
                   f"amounts have at most {MAX_INTEGER_DIGITS} digits before the point and dates "
                   f"end on {MAX_DATE.isoformat()}; check the data and the plan's multiplications")


def _money_arith(op, a, b):
    if op in "+-":
        return Money(compute(op, a.amount, b.amount), a.currency)
    if op == "*":
        return Money(compute(op, a.amount, b), a.currency) if isinstance(a, Money) else \
            Money(compute(op, a, b.amount), b.currency)
    if isinstance(b, Money):
        return compute(op, a.amount, b.amount)
    return Money(compute(op, a.amount, b), a.currency)


def _eq(a, b):
    if isinstance(a, Money) and isinstance(b, Money):
        return a.amount == b.amount and a.currency == b.currency
    return a == b


def _num(v):
    return v.amount if isinstance(v, Money) else v


def period_attr(p: Period, name: str):
    if name in ("start", "end"):
        return getattr(p, name)
    if name in ("year", "quarter", "month"):
        return p.containing(name)
    if name == "label":
        return p.label
    if name == "year_to_date":
        return year_to_date(p)
    if name == "previous":
        return _previous(p)
    return getattr(p, name)


def _previous(p):
    start = p.start - dt.timedelta(days=1)
    from ..calendar import period_of
    return period_of(start, p.kind, p.fiscal_start)


def _find_params(env):
    for frame in reversed(env):
        if isinstance(frame, dict):
            return frame
    raise AssertionError("no params frame")


def _join(a, b):
    return b if not a else f"{a}; {b}"


def _cell_text(node) -> str:
    return getattr(node, "text", None) or getattr(node, "id", None) or "(expr)"


def _short(node) -> str:
    arg = node.args[0] if node.args else None
    src = arg.source if isinstance(arg, ast.Each) else arg
    while isinstance(src, ast.Where):
        src = src.source
    table = src.id if isinstance(src, ast.Name) else "rows"
    return f"{node.func}(... {table} ...) line {node.span.line}"


def _row_note(node, env, plan) -> str:
    r = plan.resolution.get(id(node))
    if r and r[0] == "column":
        row = env[r[1]]
        return f": `{r[3]}` is empty in row {row.number} of {row.table} ({row.id})"
    return ""


def _row_ref(row, tables) -> str:
    t = tables.get(row.table)
    return f" (row {row.number} of {t.path if t else row.table}, {row.id})"


def to_problem_diag(p: Problem, ctx) -> Diagnostic:
    where = f" [payee {ctx.payee.id}, period {ctx.period}]" if ctx is not None else ""
    return Diagnostic(p.code, p.message + where, p.span, p.hint)


def fail(p: Problem, ctx):
    raise KamError([to_problem_diag(p, ctx)])
