"""The interpreter's built-in calls: one `_call_<name>` method per built-in of the registry
(core.builtins), mixed into the Evaluator: aggregations over rows (sum, avg, count, exists, min,
max, one), rounding, money, dates, assignee, paid (the ledger of earlier periods), prorate,
team_total, fx and share (largest remainder, one total per pool: KR416)."""
from __future__ import annotations

import os
from decimal import Decimal

from kamrules.backends.interp.arith import Problem, arith, plain_number, same_value
from kamrules.core.fxrates import rate_diagnostic, rate_problem
from kamrules.data.references import header
from kamrules.diagnostics.diagnostic import KamError
from kamrules.backends.interp.hierarchy import Hierarchy, HierarchyError
from kamrules.core.numeric import ROUND_STEPS, Money, allocate, between, quantize
from kamrules.core import ir
from kamrules.core.currencies import is_per_payee
from kamrules.trace.tree import RowRef, TraceNode, show_value



def join_notes(a, b):
    return b if not a else f"{a}; {b}"


def short_call(node) -> str:
    arg = node.args[0] if node.args else None
    src = arg.source if isinstance(arg, ir.Each) else arg
    while isinstance(src, ir.Where):
        src = src.source
    table = src.id if isinstance(src, ir.Name) else "rows"
    return f"{node.func}(... {table} ...) line {node.span.line}"


def row_ref(row, tables) -> str:
    t = tables.get(row.table)
    return f" (row {row.number} of {t.path if t else row.table}, {row.id})"


class BuiltinCalls:
    """Methods of the Evaluator that evaluate calls of built-ins (see Evaluator._Call)."""

    def _each_rows(self, arg, ctx, env):
        return self.ev(arg.source, ctx, env)

    def _aggregate(self, node, ctx, env, kind):
        arg = node.args[0]
        agg = TraceNode(short_call(node), "aggregate", node.span) if self.tracing and not env else None
        who = ctx.payee.id if ctx is not None else None
        if isinstance(arg, ir.Each):
            rows = self._each_rows(arg, ctx, env)
            values = []
            saved = self.notes
            try:
                for row in rows:
                    self.notes = [] if agg is not None else None
                    v = self.ev(arg.expr, ctx, env + (row,))
                    values.append(v)
                    if agg is not None:
                        why = self.why.get((row.table, row.number, who), ()) + tuple(self.notes)
                        agg.rows.append(RowRef(row.table, row.number, row.id, v, why))
            finally:
                self.notes = saved
        else:
            rows = self.ev(arg, ctx, env)
            values = rows
            if agg is not None:
                agg.rows.extend(RowRef(r.table, r.number, r.id, None, self.why.get((r.table, r.number, who), ()))
                                for r in rows)
        result = kind(values, rows, arg)
        if agg is not None:
            agg.value = result
            self._child(agg)
        return result

    def _total(self, node, values, rows, arg):
        t = node.type
        acc = Money(Decimal(0), t.currency) if t.kind == "money" else Decimal(0)
        for v, row in zip(values, rows):
            if v is None:
                raise Problem("KR406", "an empty value is summed" + row_ref(row, self.tables),
                              arg.expr.span, "filter the rows with present(...) or use default(...)")
            acc = arith("+", acc, v, node)
        return acc

    def _call_sum(self, node, ctx, env):
        return self._aggregate(node, ctx, env, lambda values, rows, arg: self._total(node, values, rows, arg))

    def _call_avg(self, node, ctx, env):
        def average(values, rows, arg):  # the trace node holds the average, not the sum
            total = self._total(node, values, rows, arg)
            if not rows:  # the average of no rows is empty: default(avg(...), x) gives x
                return None
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
            if not present:  # over no (present) value: empty, so default(...) applies
                return None
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

    def marginal(self, dec, x, ctx, env, node):
        """A marginal curve at x: the sum over its rows of (the part of x inside the row's
        range) x (the row's rate); the parts below the first bound (and above a closed last
        row) earn nothing. The derivation tree shows each slice."""
        inner = env + ({dec.params[0][0]: x},)
        money = isinstance(x, Money)
        amount = x.amount if money else x
        total = Decimal(0)
        slices = []
        for k, row in enumerate(dec.rows, 1):
            cell = row.cells[0]
            lo = plain_number(self.ev(cell.lo, ctx, inner))
            hi = plain_number(self.ev(cell.hi, ctx, inner)) if cell.kind == "range" else None
            if amount <= lo:
                continue
            part = (amount if hi is None else min(amount, hi)) - lo
            rate = self._operand(row.output, ctx, inner)
            earned = arith("*", part, rate, node)
            total = arith("+", total, earned, node)
            unit = (lambda v: Money(v, x.currency)) if money else (lambda v: v)  # noqa: E731
            slices.append(f"row {k}: {show_value(unit(part))} x {show_value(rate, 'rate')} = "
                          f"{show_value(unit(earned))}")
        value = Money(total, x.currency) if money else total
        if self.tracing and self.notes is not None:
            self.notes.append(f"{dec.name}: " + "; ".join(slices))
        elif self.tracing and self.stack:
            self._child(TraceNode(f"{dec.name}({show_value(x)})", "decision", dec.span, value=value,
                                  branch="slices: " + ("; ".join(slices) or "none")))
        return value

    def _call_round(self, node, ctx, env):
        x = self._operand(node.args[0], ctx, env)
        step_node, mode = node.args[1], node.args[2].id
        step = ROUND_STEPS[step_node.id] if isinstance(step_node, ir.Name) else step_node.value
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
        x, lo, hi = (plain_number(v) for v in (x, lo, hi))
        return between(x, lo, hi)  # core.numeric: both ends included, approximate values snapped

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

    def _reporting(self, node, ctx, env, method):
        """manager_of()/below() on the `reports_to` file, checked whole on first use."""
        args = [self.ev(a, ctx, env) for a in node.args]
        try:
            h = self.teams.get("reports_to")
            if h is None:
                t = self.tables["reports_to"]
                h = Hierarchy.of(t.path, ((r.number, r.values["payee_id"], r.values["manager_id"],
                                          r.values["start_date"], r.values["end_date"]) for r in t.rows))
                h.validate()
                self.teams["reports_to"] = h
            return getattr(h, method)(*args)
        except HierarchyError as err:
            raise Problem(err.code, err.message, node.span, err.hint) from None

    def _call_manager_of(self, node, ctx, env):
        return self._reporting(node, ctx, env, "manager_of")

    def _call_below(self, node, ctx, env):
        return self._reporting(node, ctx, env, "below")

    def _call_paid(self, node, ctx, env):
        name = node.args[0].id
        within = self.ev(node.args[1], ctx, env)
        total = Decimal(0)
        tn = TraceNode(f"paid({name}, {within})", "paid", node.span)
        for p in within.subperiods(self.plan.period_kind):
            if p >= ctx.period:  # earlier periods only: what was paid before this one
                break
            if self.history.fixed(p):  # a closed period: the ledger's history (core.history)
                fixed = self.history.value(ctx.payee.id, p, name)
                total += fixed
                if self.tracing:
                    tn.children.append(TraceNode(name, "component", None, value=Money(fixed, self.plan.currency),
                                                 branch=f"{p}: closed, as recomputed under its recorded plan"))
                continue
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
            self.stack[-1].branch = join_notes(self.stack[-1].branch,
                                          f"prorated {active} of {total} days in {p}")
        return Decimal(active) / Decimal(total)

    def _call_team_total(self, node, ctx, env):
        if node.by is None:
            team = ctx.payee.values.get("team")
        else:
            team = self.ev(node.by, ctx, ())
        members, acc = self._team_values(node, ctx.period, team)
        tn = TraceNode(f"team_total({'' if node.by is None else 'by '}{show_value(team)})", "team", node.span)
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
        key = (node.uid, period, team)
        found = self.teams.get(key)
        if found is not None:
            return found
        if self._members is None:
            self._members = {}
            for payee in self.payees:
                self._members.setdefault(payee.values.get("team"), []).append(payee)
        t = node.type
        acc = Money(Decimal(0), t.currency) if t.kind == "money" else Decimal(0)
        members = []
        group = self._members.get(team, ()) if node.by is None else self._by_groups(node, period).get(team, ())
        for payee in group:
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

    def _by_groups(self, node, period) -> dict:
        """{by value: [eligible payees, payee order]} of a `by EXPR` call in `period`."""
        key = ("by", node.uid, period)
        found = self.teams.get(key)
        if found is None:
            found = self.teams[key] = {}
            for payee in self.payees:
                other = self.context(payee, period)
                if not self.is_eligible(other):
                    continue
                saved, self.stack = self.stack, [TraceNode("pool", "share", None)]
                try:
                    v = self.ev(node.by, other, ())
                finally:
                    self.stack = saved
                found.setdefault(v, []).append(payee)  # an empty value is a pool too
        return found

    def _call_fx(self, node, ctx, env):
        amount = self._operand(node.args[0], ctx, env)
        # fx(x, "USD", day), or fx(x, payee.COLUMN, day): the type `payee.COLUMN`, the payee's code
        label = target = node.args[1].value if isinstance(node.args[1], ir.String) else self.plan.currency
        if is_per_payee(target):
            target = self.pay_codes[ctx.payee.id]
        day = self._operand(node.args[2], ctx, env)
        if amount.currency in (target, label):
            return Money(amount.amount, label)
        if "fx_rates" not in self.teams:  # the whole file, once (core.fxrates)
            t = self.tables["fx_rates"]
            bad = rate_problem(os.path.basename(t.path), ((r.number, r.values["date"], r.values["from"],
                                                           r.values["to"], r.values["rate"]) for r in t.rows))
            if bad:  # a data error, at its cell: not this payee's nor this period's
                raise KamError([rate_diagnostic(bad, t.path, header(t.path, t.spec), node.span)])
            self.teams["fx_rates"] = True
        rates = self.tables["fx_rates"].index("from").get(amount.currency, ())
        best = None
        for r in rates:
            if r.values["to"] == target and r.values["date"] <= day:
                if best is None or r.values["date"] > best.values["date"]:
                    best = r
        if best is None:
            row = next((r for r in reversed(env) if hasattr(r, "number")), None)  # the row converted
            where = row_ref(row, self.tables) if row is not None else ""
            raise Problem("KR405", f"no fx rate {amount.currency}->{target} on or before {day}{where}",
                          node.span, f"add a row to fx_rates: date <= {day}, from {amount.currency}, "
                                     f"to {target}")
        if self.tracing and self.stack:
            self.stack[-1].rows.append(RowRef(best.table, best.number, best.id, best.values["rate"]))
        return Money(amount.amount * best.values["rate"], label)

    def _call_share(self, node, ctx, env):
        pool = None if node.by is None else self.ev(node.by, ctx, ())
        key = (node.uid, ctx.period, pool)
        if key not in self.pools:
            total = self._operand(node.args[0], ctx, env)
            weights, totals = {}, {ctx.payee.id: total}
            members = self.payees if node.by is None else self._by_groups(node, ctx.period).get(pool, ())
            for payee in members:
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
            _one_total(totals, node, ctx.period, "" if node.by is None else f" (pool {show_value(pool)})")
            self.pools[key] = (allocate(total, weights), weights)
        elif self.tracing:  # the pool was made for another payee: this payee's total, traced in place
            self._operand(node.args[0], ctx, env)  # (a memo hit), so every payee's tree shows it
        shares, weights = self.pools[key]
        value = shares.get(ctx.payee.id, Money(Decimal(0), self.plan.currency))
        tn = TraceNode("share", "share", node.span, value=value,
                       branch=f"weight {show_value(weights.get(ctx.payee.id))} of "
                              f"{show_value(sum((w for w in weights.values() if w is not None and w > 0), Decimal(0)))}"
                              + ("" if node.by is None else f" in pool {show_value(pool)}"))
        self._child(tn)
        return value


def _one_total(totals: dict, node, period, pool: str = "") -> None:
    """A pool is split once: its total must be the same for every payee (KR416)."""
    groups: list = []  # [(total, [payee ids])], in payee id order
    for pid in sorted(totals):
        v = totals[pid]
        for value, ids in groups:
            if same_value(value, v):
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
    raise Problem("KR416", f"a pool's total is not one value: in {period}{pool}, " + ", ".join(shown) + more,
                  node.span, "a pool's total must not depend on the payee: compute it from data that is "
                             "the same for everyone in the pool, or split it: share(..., by ...), e.g. "
                             "share(total, weight, by payee.team)")


def _exact(v) -> str:
    """A money amount as read (to the cent) unless the cents hide digits."""
    if isinstance(v, Money):
        text = show_value(v)
        return text if Decimal(text.split()[0]) == v.amount else f"{v.amount} {v.currency}"
    return show_value(v)
