"""Typing of calls: built-in functions (aggregations, round, money, assignee, share, paid,
fx, ...) and calls of the plan's own curves and tables. A mixin of `checker.Checker`: it
uses the checker's scope, error reporting and definition table.
"""
from __future__ import annotations

from kamrules.syntax import ast

from kamrules.check import paycurrency
from kamrules.check.tables import check_marginal
from kamrules.core import types as T
from kamrules.core.builtins import NAMES, SIGNATURES
from kamrules.diagnostics.diagnostic import did_you_mean

from kamrules.core.numeric import ROUND_STEPS, ROUNDING_MODES

BUILTINS = NAMES  # the checker's name for the registry's list

ASSIGNMENT_COLUMNS = ("account_id", "payee_id", "role", "start_date", "end_date")
REPORTS_TO_COLUMNS = ("payee_id", "manager_id", "start_date", "end_date")
FX_COLUMNS = ("date", "from", "to", "rate")



class CallChecks:
    def _e_Each(self, node, scope):
        self.error("KR206", "`expr for rows` can only be an argument of sum, min, max, avg or one",
                   node.span)
        return T.UNKNOWN

    def _e_By(self, node, scope):
        self.error("KR206", "`by EXPR` can only be the last argument of share() or team_total()",
                   node.span, "e.g. share(pool, weight, by payee.team)")
        self._expr(node.expr, scope)
        return T.UNKNOWN

    def _pool_key(self, node, scope) -> None:
        """The `by EXPR` of share()/team_total(): a payee-level value naming the pool."""
        by = node.args[-1]
        if scope.frames:
            self.error("KR206", f"{node.func}() pools payees; it cannot read a row", node.span,
                       "use it at the top of a let or component")
        t = self._expr(by.expr, scope)
        self.types[id(by)] = t
        if t.kind not in T.SCALAR_KINDS + ("unknown",) or t.kind == "money":
            self.error("KR201", f"`by` names a pool with a payee-level value (Text, Number, Date, ...), "
                       f"not {t}", by.expr.span, "e.g. by payee.team")

    def _rows_arg(self, arg, scope) -> T.Type:
        t = self._expr(arg, scope)
        if t.kind not in ("rows", "unknown"):
            self.error("KR201", f"expected rows of a table, found {t}", arg.span,
                       "e.g. `deals where status == \"won\"`")
            return T.UNKNOWN
        return t

    def _each(self, arg, scope) -> T.Type:
        rt = self._rows_arg(arg.source, scope)
        self.types[id(arg)] = rt
        if rt.kind == "unknown":  # the rows are in error already: their columns are not
            return T.UNKNOWN       # undefined names (no cascade of KR101 with wrong hints)
        return self._expr(arg.expr, scope.push(("row", rt.table)))

    def _arity(self, node, lo, hi=None):
        hi = lo if hi is None else hi
        n = len(node.args)
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            self.error("KR103", f"{node.func}() takes {want} argument(s), got {n}", node.span,
                       f"write {SIGNATURES[node.func]}" if node.func in SIGNATURES else None)
            for a in node.args:
                if isinstance(a, ast.Name) and (a.id in ROUND_STEPS or a.id in ROUNDING_MODES):
                    continue
                if not isinstance(a, ast.Each):  # in the call's own scope: its row's columns resolve
                    self._expr(a, getattr(self, "_call_scope", None) or self._empty_scope())
            return False
        return True

    def _e_Call(self, node, scope):
        f = node.func
        if f in self.defs and isinstance(self.defs[f], ast.Decision):
            return self._call_decision(node, scope)
        method = getattr(self, "_call_" + f, None)
        if method is None or f not in BUILTINS:
            hint = did_you_mean(f, list(BUILTINS) + [n for n, d in self.defs.items()
                                                     if isinstance(d, ast.Decision)])
            if f in self.defs:
                hint = f"`{f}` is a value, not a function"
            self.error("KR101", f"unknown function `{f}`", node.span, hint)
            for a in node.args:
                if not isinstance(a, ast.Each):
                    self._expr(a, scope)
            return T.UNKNOWN
        saved, self._call_scope = getattr(self, "_call_scope", None), scope
        try:
            return method(node, scope)
        finally:
            self._call_scope = saved

    # ---------------------------------------------------------------- marginal curves
    def _slice_rate(self, node, row, ot) -> None:
        if not (ot.dimensionless or ot.kind == "unknown"):
            self.error("KR308", f"a row of the marginal curve `{node.name}` gives the rate of its slice, "
                       f"not {ot}", row.output.span, "e.g. | 0 EUR to < 100000 EUR | 5% |")

    def _marginal(self, node, params, out_type) -> T.Type:
        """A marginal curve: one Money or Number input, a rate per row; it returns the
        input's type (the sum of each slice times its rate)."""
        x = next(iter(params.values())) if len(params) == 1 else T.UNKNOWN
        if len(params) != 1 or x.kind not in ("money", "number", "count"):
            self.error("KR308", f"the marginal curve `{node.name}` takes one Money or Number input",
                       node.span, "e.g. curve tiers(x: Money) -> Money marginal { ... }")
            return out_type or T.UNKNOWN
        result = T.NUMBER if x.kind == "count" else x
        if out_type is not None and not T.assignable(out_type, result):
            self.error("KR308", f"the marginal curve `{node.name}` returns its input's type, {result}, "
                       f"not {out_type}", node.result.span, f"declare -> {result}")
        self.diags.extend(check_marginal(node))
        return result

    def _call_decision(self, node, scope):
        d = self.defs[node.func]
        self._dep(node.func)
        if not self._arity(node, len(d.params)):
            return self._def_type(node.func)
        for arg, (pname, ref) in zip(node.args, d.params):
            at = self._expr(arg, scope)
            want = self._type_ref(ref)
            if not T.assignable(want, at):
                self.error("KR201", f"`{pname}` of {node.func}() is {want}, not {at}", arg.span,
                           unit_hint(want, at))
        return self._def_type(node.func)

    def _agg_value(self, node, scope, allow_rows=False):
        if not self._arity(node, 1, 2 if node.func in ("min", "max") else 1):
            return T.UNKNOWN
        arg = node.args[0]
        if isinstance(arg, ast.Each):
            return self._each(arg, scope)
        if allow_rows:
            t = self._rows_arg(arg, scope)
            return T.row(t.table) if t.kind == "rows" else T.UNKNOWN
        self.error("KR206", f"{node.func}() needs `expr for rows`", arg.span,
                   f"e.g. {node.func}(amount for deals where status == \"won\")")
        self._expr(arg, scope)
        return T.UNKNOWN

    def _call_sum(self, node, scope):
        t = self._agg_value(node, scope)
        if not (t.numeric or t.kind == "unknown"):
            self.error("KR201", f"sum() adds numbers or money, not {t}", node.span)
        return t

    def _call_avg(self, node, scope):
        t = self._call_sum(node, scope)
        return t if t.kind == "money" else (T.RATE if t.kind == "rate" else t if t.kind == "unknown" else T.NUMBER)

    def _minmax(self, node, scope):
        if len(node.args) == 2 and not any(isinstance(a, ast.Each) for a in node.args):
            a, b = (self._expr(x, scope) for x in node.args)
            u = T.unify(a, b)
            if u is None:
                self.error("KR201" if "money" not in (a.kind, b.kind) else "KR204",
                           f"{node.func}() of {a} and {b}", node.span, unit_hint(a, b))
                return T.UNKNOWN
            return u
        return self._agg_value(node, scope)

    _call_min = _minmax
    _call_max = _minmax

    def _call_one(self, node, scope):
        return self._agg_value(node, scope, allow_rows=True)

    def _call_count(self, node, scope):
        if self._arity(node, 1):
            if isinstance(node.args[0], ast.Each):
                self.error("KR206", "count() takes rows: count(deals where ...)", node.args[0].span)
            else:
                self._rows_arg(node.args[0], scope)
        return T.COUNT

    def _call_exists(self, node, scope):
        self._call_count(node, scope)
        return T.BOOL

    def _call_round(self, node, scope):
        if not self._arity(node, 3):
            return T.UNKNOWN
        x, step, mode = node.args
        t = self._expr(x, scope)
        if isinstance(step, ast.Name) and step.id in ROUND_STEPS:
            self.types[id(step)] = T.NUMBER
        elif isinstance(step, (ast.Number, ast.MoneyLit)) and step.value > 0:
            st = self._expr(step, scope)
            if st.kind == "money" and t.kind != "money" and t.kind != "unknown" or \
                    st.kind == "money" and t.kind == "money" and st.currency != t.currency:
                self.error("KR201", f"cannot round {t} to a step of {st}", step.span,
                           "round money to cent or to an amount, ratios to a percentage (1%)")
        else:
            self.error("KR206", "round() step must be `cent`, `unit`, a percentage (1%) or an amount",
                       step.span, "e.g. round(x, cent, half_up) or round(rate, 1%, down)")
        if not (isinstance(mode, ast.Name) and mode.id in ROUNDING_MODES):
            text = mode.id if isinstance(mode, ast.Name) else "this"
            self.error("KR206", f"`{text}` is not a rounding mode", mode.span,
                       did_you_mean(text, ROUNDING_MODES) or "modes: " + ", ".join(ROUNDING_MODES))
        else:
            self.types[id(mode)] = T.TEXT
        if not (t.numeric or t.kind == "unknown"):
            self.error("KR201", f"cannot round {t}", x.span)
        return t

    def _call_money(self, node, scope):
        if not self._arity(node, 1, 2):
            return T.UNKNOWN
        t = self._expr(node.args[0], scope)
        cur = self.header.get("currency")
        if len(node.args) == 2:
            c = node.args[1]
            if isinstance(c, ast.String) and len(c.value) == 3 and c.value.isupper():
                cur = c.value
                paycurrency.known(self, cur, c.span)
                self.types[id(c)] = T.TEXT
            else:
                self.error("KR206", "money()'s currency is a code in quotes", c.span, 'e.g. money(x, "USD")')
        if not (t.dimensionless or t.kind in ("unknown", "money")):
            self.error("KR201", f"money() takes a number, not {t}", node.args[0].span)
        if t.kind == "money" and t.currency != cur:
            self.error(T.mismatch_code(t.currency, cur), f"money() cannot relabel {t} as {cur}", node.span,
                       T.fx_hint(cur, f'convert it: fx(x, "{cur}", date)'))
        return t if t.kind == "money" else T.money(cur)

    def _call_abs(self, node, scope):
        if not self._arity(node, 1):
            return T.UNKNOWN
        t = self._expr(node.args[0], scope)
        if not (t.numeric or t.kind == "unknown"):
            self.error("KR201", f"abs() of {t}", node.span)
        return t

    def _call_default(self, node, scope):
        if not self._arity(node, 2):
            return T.UNKNOWN
        a, b = (self._expr(x, scope) for x in node.args)
        u = T.unify(a, b)
        if u is None:
            self.error("KR201", f"default() of {a} and {b}", node.span, unit_hint(a, b))
            return T.UNKNOWN
        return u

    def _call_present(self, node, scope):
        if self._arity(node, 1):
            self._expr(node.args[0], scope)
        return T.BOOL

    def _call_between(self, node, scope):
        if self._arity(node, 3):
            ts = [self._expr(x, scope) for x in node.args]
            for x, t in zip(node.args[1:], ts[1:]):
                try:
                    T.comparable("<=", ts[0], t)
                except T.TypeProblem as p:
                    self.error(p.code, p.message, x.span, p.hint)
        return T.BOOL

    def _call_days(self, node, scope):
        if self._arity(node, 2):
            for x in node.args:
                t = self._expr(x, scope)
                if t.kind not in ("date", "unknown"):
                    self.error("KR201", f"days() takes two dates, not {t}", x.span)
        return T.COUNT

    def _call_assignee(self, node, scope):
        if not self._arity(node, 3):
            return T.TEXT
        want = (T.TEXT, T.TEXT, T.DATE)
        for x, w in zip(node.args, want):
            t = self._expr(x, scope)
            if not T.assignable(w, t):
                self.error("KR201", f"assignee() expects (account Text, role Text, day Date); got {t}",
                           x.span)
        self._needs_input(node, "an", "assignments", ASSIGNMENT_COLUMNS,
                          "account_id: Text  payee_id: Text  role: Text  start_date: Date  end_date: optional Date")
        return T.TEXT

    def _needs_input(self, node, article, name, columns, declare) -> None:
        """The input a built-in reads (assignments, reports_to, fx_rates): KR101 when it is not
        declared, KR104 when it lacks a column."""
        table = self.inputs.get(name)
        if table is None:
            self.error("KR101", f"{node.func}() needs {article} `{name}` input", node.span,
                       f"declare: input {name} {{ {declare} }}")
            return
        missing = [c for c in columns if c not in table.columns]
        if missing:
            self.error("KR104", f"{node.func}() needs columns {', '.join(missing)} in `{name}`", table.span)

    def _reports_to(self, node, scope, want) -> None:
        """The arguments of manager_of()/below() (Text ids, then a Date) and the input they read."""
        if not self._arity(node, len(want)):
            return
        for x, w in zip(node.args, want):
            t = self._expr(x, scope)
            if not T.assignable(w, t):
                self.error("KR201", f"{SIGNATURES[node.func]}: expected {w}, got {t}", x.span)
        self._needs_input(node, "a", "reports_to", REPORTS_TO_COLUMNS,
                          "payee_id: Text  manager_id: Text  start_date: Date  end_date: optional Date")

    def _call_manager_of(self, node, scope):
        self._reports_to(node, scope, (T.TEXT, T.DATE))
        return T.TEXT

    def _call_below(self, node, scope):
        self._reports_to(node, scope, (T.TEXT, T.TEXT, T.DATE))
        return T.BOOL

    def _call_share(self, node, scope):
        by = bool(node.args) and isinstance(node.args[-1], ast.By)
        if not self._arity(node, 2 + by):
            return T.UNKNOWN
        if by:
            self._pool_key(node, scope)
        elif scope.frames:  # as documented (and as team_total): a pool is shared among payees
            self.error("KR206", "share() pools payees; it cannot read a row", node.span,
                       "use it at the top of a let or component")
        total, weight = (self._expr(x, scope) for x in node.args[:2])
        if total.kind not in ("money", "unknown"):
            self.error("KR201", f"share() divides an amount of money, not {total}", node.args[0].span)
        paycurrency.pooled(self, node, total, "share()")
        if not (weight.dimensionless or weight.kind == "unknown"):
            self.error("KR201", f"share() weights must be numbers or rates, not {weight}",
                       node.args[1].span)
        return total

    def _call_paid(self, node, scope):
        if not self._arity(node, 2):
            return T.UNKNOWN
        comp, within = node.args
        t = self._expr(within, scope)
        if t.kind not in ("period", "unknown"):
            self.error("KR201", f"paid()'s second argument is a period, not {t}", within.span,
                       "e.g. paid(advance, period.quarter)")
        if not (isinstance(comp, ast.Name) and isinstance(self.defs.get(comp.id), ast.Component)):
            text = comp.id if isinstance(comp, ast.Name) else "this"
            self.error("KR206", f"`{text}` is not a component", comp.span,
                       did_you_mean(text, [n for n, d in self.defs.items() if isinstance(d, ast.Component)])
                       or "paid() reads what a component paid in earlier periods: paid(COMPONENT, period.year)")
            return T.UNKNOWN
        # paid() reads earlier periods only: no dependency inside the current period.
        self.resolution[id(comp)] = ("component", comp.id)
        self.types[id(comp)] = T.money(self.header.get("currency"))
        return self.types[id(comp)]


    def _call_prorate(self, node, scope):
        if self._arity(node, 2):
            for x in node.args:
                t = self._expr(x, scope)
                if t.kind not in ("date", "unknown"):
                    self.error("KR201", f"prorate() takes the start and end dates of the payee "
                               f"(end may be empty), not {t}", x.span,
                               "e.g. prorate(payee.start_date, payee.end_date)")
        return T.RATE

    def _call_team_total(self, node, scope):
        by = bool(node.args) and isinstance(node.args[-1], ast.By)
        if not self._arity(node, 1 + by):
            return T.UNKNOWN
        if by:
            self._pool_key(node, scope)
        elif scope.frames:
            self.error("KR206", "team_total() sums a payee-level value; it cannot read a row",
                       node.span, "use it at the top of a let or component")
        t = self._expr(node.args[0], scope)
        if not (t.numeric or t.kind == "unknown"):
            self.error("KR201", f"team_total() adds numbers or money, not {t}", node.span)
        paycurrency.pooled(self, node, t, "team_total()")
        payees = self.inputs.get(self.header.get("payees", "people"))
        if not by and payees is not None and "team" not in payees.columns:
            self.error("KR104", f"team_total() needs a `team` column in `{payees.name}`", node.span,
                       f"declare it: input {payees.name} {{ ... team: Text }}")
        return t

    def _call_fx(self, node, scope):
        if not self._arity(node, 3):
            return T.UNKNOWN
        amount, cur, day = node.args
        t = self._expr(amount, scope)
        if t.kind not in ("money", "unknown"):
            self.error("KR201", f"fx() converts money, not {t}", amount.span)
        dt_ = self._expr(day, scope)
        if dt_.kind not in ("date", "unknown"):
            self.error("KR201", f"fx()'s third argument is the date of the rate, not {dt_}", day.span)
        per_payee = paycurrency.fx_target(self, cur, scope)  # fx(x, payee.COLUMN, day)
        if per_payee is not None:
            self._needs_input(node, "an", "fx_rates", FX_COLUMNS, "date: Date  from: Text  to: Text  rate: Number")
            return per_payee
        if not (isinstance(cur, ast.String) and len(cur.value) == 3 and cur.value.isupper()):
            self.error("KR206", "fx()'s target currency is a code in quotes", cur.span,
                       'e.g. fx(amount, "EUR", close_date)')
            return T.UNKNOWN
        self.types[id(cur)] = T.TEXT
        paycurrency.known(self, cur.value, cur.span)
        self._needs_input(node, "an", "fx_rates", FX_COLUMNS, "date: Date  from: Text  to: Text  rate: Number")
        return T.money(cur.value)


def unit_hint(want: T.Type, got: T.Type) -> str | None:
    if want.kind == "money" and got.dimensionless:
        return f"write the amount with its currency, e.g. 0 {want.currency or 'EUR'}, or use money(x)"
    if got.kind == "money" and want.dimensionless:
        return "divide by another amount to get a rate"
    return None
