"""The checker: binds names, orders definitions, types every expression, checks units.

It runs before any data is read and collects every problem of a plan in one pass
(`check(plan) -> (CheckedPlan | None, [Diagnostic])`). Decision-table coverage lives in
`tables.py`; this module calls it.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from kamrules.syntax import ast
from kamrules.core import limits
from kamrules.core import types as T
from kamrules.core.calendar import KINDS, MONTHS
from kamrules.diagnostics.diagnostic import Diagnostic, KamError, Severity, did_you_mean
from kamrules.check.discovery import discover
from kamrules.check.plan import CheckedPlan, ColumnSpec, Definition, Filter, InputTable
from kamrules.core.numeric import ROUNDING_MODES
from kamrules.diagnostics.source import SourceFile, Span
from kamrules.check.calls import BUILTINS, ROUND_STEPS, CallChecks, unit_hint as _unit_hint
from kamrules.files.inputs import static_diagnostic
from kamrules.check.tables import check_decision
from kamrules.check.sources import input_source
from kamrules.check import paycurrency
from kamrules.check.window import check_window

# `input NAME from "..."`, blanks and comments between the words: where the file name is
_FROM_STRING = re.compile(r'input(?:\s|#[^\n]*)+\w+(?:\s|#[^\n]*)+from(?:\s|#[^\n]*)*("(?:[^"\\\n]|\\["\\n])*")')

RESERVED = ("payee", "period")
KEYWORDS = ("plan", "version", "currency", "payees", "round", "components", "fiscal", "year",
            "starts", "eligible", "require", "every", "payment", "input", "from", "key",
            "optional", "unique", "references", "param", "let", "component", "when", "to",
            "curve", "table", "hit", "any", "where", "if", "then", "else", "or", "and", "not",
            "in", "for", "by", "marginal", "true", "false")
PERIOD_ATTRS = {"start": T.DATE, "end": T.DATE, "year": T.PERIOD, "quarter": T.PERIOD,
                "month": T.PERIOD, "is_quarter_end": T.BOOL, "is_year_end": T.BOOL,
                "label": T.TEXT, "year_to_date": T.PERIOD, "previous": T.PERIOD}


class _Scope:
    """Row frames (`for`/`where` over a table) and decision parameters, innermost last."""

    def __init__(self, frames=()):
        self.frames = list(frames)

    def push(self, frame):
        return _Scope(self.frames + [frame])


class Checker(CallChecks):
    def __init__(self, plan: ast.Plan, source: SourceFile):
        self.plan, self.source = plan, source
        self.diags: list[Diagnostic] = []
        self.types: dict = {}
        self.resolution: dict = {}
        self.filters: dict = {}
        self.wheres: list = []  # (Where node, table, row depth): for discovery.discover
        self.inputs: dict[str, InputTable] = {}
        self.defs: dict[str, object] = {}
        self.def_types: dict[str, T.Type] = {}
        self.deps: dict[str, set] = {}
        self._current: str | None = None
        self._checking: set = set()
        self.header: dict = {}
        self._no_context = False  # inside `require`: no payee, no period

    # ------------------------------------------------------------ reporting
    def error(self, code, message, span, hint=None, related=(), labels=()):
        self.diags.append(Diagnostic(code, message, span, hint, Severity.ERROR, tuple(related),
                                     tuple(labels)))

    # ------------------------------------------------------------ entry
    def run(self) -> CheckedPlan | None:
        self._collect()
        if len(self.defs) > limits.MAX_DEFINITIONS:
            extra = list(self.defs.values())[limits.MAX_DEFINITIONS]
            self.error("KR007", f"the plan has {len(self.defs)} definitions (at most "
                       f"{limits.MAX_DEFINITIONS})", extra.span,
                       "split the plan, or compute the repeated values in the data")
            return None
        for name in self._typing_order():  # dependencies first: no deep recursion on long chains
            self._def_type(name)
        eligible, requires = None, []
        for st in self.plan.statements:
            self._current = None
            if isinstance(st, ast.Eligible):
                self._expect_bool(st.cond, _Scope())
                eligible = st.cond
            elif isinstance(st, ast.Require):
                if st.table not in self.inputs:
                    self.error("KR101", f"`require every {st.table}`: no input named `{st.table}`",
                               st.span, did_you_mean(st.table, self.inputs))
                    continue
                self._no_context = True
                self._expect_bool(st.cond, _Scope([("row", st.table)]))
                self._no_context = False
                requires.append(st)
        order = self._order()
        if any(d.is_error for d in self.diags):
            return None
        defs = {}
        for name in order:
            node = self.defs[name]
            kind = {ast.Param: "param", ast.Let: "let", ast.Component: "component",
                    ast.Decision: "decision"}[type(node)]
            defs[name] = Definition(kind, name, node, self.def_types[name], frozenset(self.deps[name]))
        h = self.header
        payees = h.get("payees", "people")
        return CheckedPlan(
            source=self.source, plan=self.plan, name=h.get("plan", self.source.path),
            version=h.get("version"), currency=h.get("currency", "EUR"),
            period_kind=h.get("period", "quarter"), fiscal_start=h.get("fiscal", 1),
            payees_table=payees, payee_key=self.inputs[payees].key or "payee_id",
            round_step=h.get("round", (Decimal("0.01"), "half_up"))[0],
            round_mode=h.get("round", (Decimal("0.01"), "half_up"))[1],
            eligible=eligible, inputs=self.inputs, definitions=defs,
            components=[n for n, d in self.defs.items() if isinstance(d, ast.Component)],
            types=self.types, resolution=self.resolution, filters=self.filters,
            discovery=discover(self), requires=requires, payment_kind=h.get("payment"))

    # ------------------------------------------------------------ declarations
    def _collect(self):
        seen_headers: dict[str, ast.Header] = {}
        for st in self.plan.statements:
            if isinstance(st, ast.Header):
                if st.key in seen_headers:
                    self.error("KR004", f"`{st.key}` is declared twice", st.span,
                               related=[(seen_headers[st.key].span, "first declared here")])
                    continue
                seen_headers[st.key] = st
                self._header(st)
            elif isinstance(st, ast.Input):
                self._input(st)
            elif isinstance(st, (ast.Param, ast.Let, ast.Component, ast.Decision)):
                self._declare(st.name, st)
        if "currency" not in seen_headers:
            self.error("KR004", "the plan has no `currency` line", Span(self.source.path, 1, 1, 1, 2),
                       "add `currency EUR` near the top of the plan")
            self.header["currency"] = "EUR"
        if "period" not in seen_headers:
            self.error("KR004", "the plan has no `period` line", Span(self.source.path, 1, 1, 1, 2),
                       "add `period quarter` (or month, year) near the top of the plan")
        pay, calc = self.header.get("payment"), self.header.get("period")
        if pay and calc and KINDS.index(pay) < KINDS.index(calc):
            self.error("KR002", f"payment every {pay} is more frequent than the {calc}ly calculation",
                       seen_headers["payment"].span, f"pay every {calc} or less often")
        for table in self.inputs.values():
            for col in table.columns.values():
                if col.references is None:
                    continue
                target = self.inputs.get(col.references)
                if target is None:
                    self.error("KR101", f"column `{col.name}` references `{col.references}`, which is "
                               "not an input", col.span, did_you_mean(col.references, self.inputs))
                elif target.key is None and "payee_id" not in target.columns:
                    self.error("KR206", f"`{col.references}` has no key for `{col.name}` to reference",
                               col.span, f"declare one: input {col.references} key <column> {{ ... }}")
        payees = self.header.get("payees", "people")
        if payees not in self.inputs:
            span = seen_headers["payees"].span if "payees" in seen_headers else Span(self.source.path, 1, 1, 1, 2)
            self.error("KR101", f"the payees table `{payees}` is not declared as an input", span,
                       f"declare it: input {payees} {{ payee_id: Text  annual_variable: Money }}")
        elif self.inputs[payees].key is None and "payee_id" not in self.inputs[payees].columns:
            self.error("KR104", f"the payees table `{payees}` has no `payee_id` column and no key",
                       self.inputs[payees].span, f"add `key <column>` to `input {payees}`")
        paycurrency.check_header(self, seen_headers)  # `currency payee.COLUMN`

    def _header(self, st: ast.Header):
        v = st.values
        if st.key == "period":
            if v[0] not in KINDS:
                self.error("KR002", f"unknown calculation period `{v[0]}`", st.span,
                           "write `period month`, `period quarter` or `period year`")
            else:
                self.header["period"] = v[0]
        elif st.key == "round":
            step, mode = v
            if step not in ROUND_STEPS:
                self.error("KR002", f"unknown rounding step `{step}`", st.span, "write `cent` or `unit`")
            elif mode not in ROUNDING_MODES:
                self.error("KR002", f"unknown rounding mode `{mode}`", st.span,
                           did_you_mean(mode, ROUNDING_MODES) or "modes: " + ", ".join(ROUNDING_MODES))
            else:
                self.header["round"] = (ROUND_STEPS[step], mode)
        elif st.key == "payment":
            if v[0] not in KINDS:
                self.error("KR002", f"unknown payment period `{v[0]}`", st.span,
                           "write `payment month`, `payment quarter` or `payment year`")
            else:
                self.header["payment"] = v[0]
        elif st.key == "fiscal":
            if v[0] not in MONTHS:
                self.error("KR002", f"unknown month `{v[0]}`", st.span,
                           did_you_mean(v[0], MONTHS) or "write a month name: january ... december")
            else:
                self.header["fiscal"] = MONTHS.index(v[0]) + 1
        else:
            self.header[st.key] = v[0]

    def _declare(self, name, st):
        if name in self.defs or name in self.inputs:
            return self._twice(name, st, self.defs.get(name) or self.inputs[name])
        if name in KEYWORDS:
            self.error("KR003", f"`{name}` is a word of the language and cannot name a definition",
                       st.span, f"choose another name, e.g. `{name}_value`")
            return
        if name in RESERVED or name in BUILTINS:
            self.error("KR003", f"`{name}` is a built-in name and cannot be redefined", st.span,
                       f"choose another name, e.g. `my_{name}`")
            return
        self.defs[name] = st

    def _twice(self, name, st, first):
        self.error("KR003", f"`{name}` is defined twice", st.span, "rename one of the two, or delete the one "
                   "that is not meant", related=[(first.span, "first defined here")])

    def _type_ref(self, ref: ast.TypeRef) -> T.Type:
        kind = T.TYPE_NAMES.get(ref.name)
        if kind is None:
            self.error("KR105", f"unknown type `{ref.name}`", ref.span,
                       did_you_mean(ref.name, T.TYPE_NAMES) or "types: " + ", ".join(T.TYPE_NAMES))
            return T.UNKNOWN
        if kind == "money":
            paycurrency.known(self, ref.currency, ref.span)  # Money[XYZ]
            return T.money(ref.currency or self.header.get("currency"))
        if ref.currency:
            self.error("KR105", f"only Money takes a currency, not {ref.name}", ref.span)
        return T.Type(kind)

    def _input(self, st: ast.Input):
        if st.name in self.inputs or st.name in self.defs:
            return self._twice(st.name, st, self.inputs.get(st.name) or self.defs[st.name])
        cols = {}
        for c in st.columns:
            if c.name in cols:
                self.error("KR003", f"column `{c.name}` is declared twice in `{st.name}`", c.span)
                continue
            cols[c.name] = ColumnSpec(c.name, self._type_ref(c.type), c.optional, c.unique, c.span,
                                      c.references)
        if st.key is not None and st.key not in cols:
            self.error("KR104", f"key `{st.key}` is not a column of `{st.name}`", self._key_span(st),
                       did_you_mean(st.key, cols) or f"declare `{st.key}` in `input {st.name}`, or key "
                       "the input by one of its columns")
        if st.file is not None:
            bad = static_diagnostic(st.name, st.file, self._file_span(st))
            if bad is not None:
                self.diags.append(bad)
        dialect = input_source(st, self.error)
        self.inputs[st.name] = InputTable(st.name, st.file or f"{st.name}.csv", st.key, cols, st.span,
                                          dialect, st.sql)

    def _key_span(self, st: ast.Input) -> Span:
        """The span of the key's name in `input x key name {` (the statement's if not found)."""
        line = self.source.line_text(st.span.line)
        m = re.compile(r"\bkey\s+(" + re.escape(st.key) + r")\b").search(line, max(st.span.column - 1, 0))
        if m is None:
            return st.span
        return Span(st.span.file, st.span.line, m.start(1) + 1, st.span.line, m.end(1) + 1)

    def _file_span(self, st: ast.Input) -> Span:
        """The span of the string after `from` in an input statement (its own span if not found)."""
        lines = self.source.text.split("\n")
        if not 1 <= st.span.line <= len(lines):
            return st.span
        start = sum(len(x) + 1 for x in lines[:st.span.line - 1]) + st.span.column - 1
        m = _FROM_STRING.match(self.source.text, start)
        if m is None:
            return st.span
        before = self.source.text[:m.start(1)]
        line = before.count("\n") + 1
        col = m.start(1) - (before.rfind("\n") + 1) + 1
        return Span(st.span.file, line, col, line, col + len(m.group(1)))

    # ------------------------------------------------------------ definitions
    def _def_type(self, name: str) -> T.Type:
        if name in self.def_types:
            return self.def_types[name]
        if name in self._checking:
            return T.UNKNOWN  # cycle: reported by _order
        self._checking.add(name)
        saved, self._current = self._current, name
        self.deps.setdefault(name, set())
        node = self.defs[name]
        if isinstance(node, ast.Decision):
            t = self._decision(node)
        elif isinstance(node, ast.Component):
            t = self._component(node)
        else:
            t = self._expr(node.expr, _Scope())
            if t.kind == "rows" and isinstance(node, ast.Param):
                self.error("KR201", "a param is a constant, not a set of rows", node.expr.span,
                           "use `let` for a filtered table")
            if node.type is not None:
                want = self._type_ref(node.type)
                if not T.assignable(want, t):
                    self.error("KR201", f"`{name}` is declared {want} but its value is {t}",
                               node.expr.span, _unit_hint(want, t))
                elif want.kind != "unknown":
                    t = want if want.kind != "money" or want.currency else t
        self._current = saved
        self._checking.discard(name)
        self.def_types[name] = t
        return t

    def _component(self, node: ast.Component) -> T.Type:
        scope = _Scope()
        check_window(self, node, [self._expr(b, scope) if b is not None else None
                                  for b in (node.valid_from, node.valid_to)])
        for cond in (node.when, node.hold):  # `hold when EXPR`: a Bool per payee-period
            if cond is not None:
                self._expect_bool(cond, scope)
        t = self._expr(node.expr, scope)
        cur = self.header.get("currency")
        if t.kind == "money" and t.currency != cur and t.currency is not None:
            self.error(T.mismatch_code(t.currency, cur), f"component `{node.name}` is {t} but the plan pays in {cur}",
                       node.expr.span, T.fx_hint(cur, "convert with fx(...) or change the plan currency"))
        elif t.kind not in ("money", "unknown"):
            self.error("KR201", f"component `{node.name}` must be an amount of money, not {t}",
                       node.expr.span, _unit_hint(T.money(cur), t))
        return T.money(cur)

    def _decision(self, node: ast.Decision) -> T.Type:
        params = {}
        for pname, ref in node.params:
            params[pname] = self._type_ref(ref)
        scope = _Scope([("params", params)])
        out_type = self._type_ref(node.result) if node.result else None
        if node.hit not in ("unique", "first", "collect_sum", "marginal"):
            self.error("KR002", f"unknown hit policy `{node.hit}`", node.span,
                       "write `hit unique`, `hit first` or `hit collect_sum`")
        result, names, cells_ok = out_type, list(params), True
        for row in node.rows:
            if len(row.cells) != len(names):
                self.error("KR304", f"row has {len(row.cells)} condition cell(s) but `{node.name}` "
                           f"takes {len(names)} input(s)", row.span,
                           "one cell per input, then the output cell")
                continue
            for cell, pname in zip(row.cells, names):
                for bound in (cell.lo, cell.hi):
                    if bound is None:
                        continue
                    bt = self._expr(bound, scope)
                    try:
                        T.comparable("==" if cell.kind == "eq" or cell.op in ("==", "!=") else "<", params[pname], bt)
                    except T.TypeProblem as p:
                        self.error(p.code, f"cell of `{pname}`: {p.message}", bound.span, p.hint)
                        cells_ok = False
            ot = self._expr(row.output, scope)
            if node.hit == "marginal":
                self._slice_rate(node, row, ot)
            elif result is None:
                result = ot
            elif out_type is not None and not T.assignable(out_type, ot):
                self.error("KR201", f"`{node.name}` returns {out_type} but this row gives {ot}",
                           row.output.span, _unit_hint(out_type, ot))
            elif out_type is None:
                u = T.unify(result, ot)
                if u is None:
                    self.error("KR201", f"rows of `{node.name}` give different types: {result} and {ot}",
                               row.output.span)
                else:
                    result = u
        if node.hit == "marginal":
            return self._marginal(node, params, out_type)
        if cells_ok:  # a cell of the wrong unit (`< 50 EUR` for a Rate) would show as a false overlap
            self.diags.extend(check_decision(node, params))
        return result or T.UNKNOWN

    def _order(self) -> list[str]:
        """Definitions, each after the ones it reads; a cycle is KR102. Iterative (a chain of
        thousands of lets is fine)."""
        def cycle(cyc):
            self.error("KR102", "cycle between definitions: " + " -> ".join(cyc), self.defs[cyc[0]].span,
                       "a value cannot depend on itself; use paid(...) to read earlier periods",
                       related=[(self.defs[m].span, f"`{m}` is part of the cycle") for m in cyc[1:-1]])

        return _post_order(self.defs, lambda n: sorted(d for d in self.deps.get(n, ()) if d in self.defs),
                           cycle)

    def _typing_order(self) -> list[str]:
        """Definitions in an order where the ones a definition names come first (names as
        written, before scopes are known: a superset of the real dependencies), so typing
        one never recurses far into the others."""
        if len(self.defs) <= _SHALLOW:  # a short plan types in declaration order
            return list(self.defs)
        return _post_order(self.defs, lambda n: [d for d in _names_in(self.defs[n]) if d in self.defs and d != n])

    # ------------------------------------------------------------ expressions
    def _empty_scope(self):
        return _Scope()

    def _expect_bool(self, node, scope):
        t = self._expr(node, scope)
        if t.kind not in ("bool", "unknown"):
            self.error("KR205", f"a condition must be true or false, not {t}", node.span,
                       f"compare it: e.g. `x > 0 {t.currency or 'EUR'}`" if t.kind == "money"
                       else "compare it: e.g. `x > 0`")

    def _expr(self, node, scope: _Scope) -> T.Type:
        t = self._expr_inner(node, scope)
        self.types[id(node)] = t
        return t

    def _expr_inner(self, node, scope) -> T.Type:
        method = _RULES.get(type(node))  # one dict lookup per node, not a name built and looked up
        if method is None:
            method = _RULES[type(node)] = getattr(Checker, "_e_" + type(node).__name__)
        return method(self, node, scope)

    def _e_Number(self, node, scope):
        self._in_range(node, node.value.scaleb(2) if node.percent else node.value)
        return T.RATE if node.percent else T.NUMBER

    def _e_MoneyLit(self, node, scope):
        self._in_range(node, node.value)
        paycurrency.known(self, node.currency, node.span)
        return T.money(node.currency)

    def _in_range(self, node, written: Decimal):
        problem = limits.number_range_problem(written)
        if problem:
            self.error("KR005", f"`{node.text}`: {problem}", node.span,
                       "the supported range is documented in docs/security.md")

    def _e_DateLit(self, node, scope):
        try:
            day = dt.date.fromisoformat(node.text)
        except ValueError:
            self.error("KR002", f"`{node.text}` is not a valid date", node.span, "dates are YYYY-MM-DD")
            return T.DATE
        problem = limits.date_range_problem(day)
        if problem:
            self.error("KR005", problem, node.span, "the supported range is documented in docs/security.md")
        return T.DATE

    def _e_PeriodLit(self, node, scope):
        from kamrules.core.calendar import parse_period
        try:
            p = parse_period(node.text)
        except ValueError as err:
            self.error("KR002", str(err), node.span)
            return T.PERIOD
        problem = limits.period_range_problem(p)
        if problem:
            self.error("KR005", f"period {node.text} " + problem, node.span,
                       "the supported range is documented in docs/security.md")
        return T.PERIOD

    def _e_String(self, node, scope):
        return T.TEXT

    def _e_Bool(self, node, scope):
        return T.BOOL

    def _e_Paren(self, node, scope):
        return self._expr(node.expr, scope)

    def _e_ListLit(self, node, scope):
        elem = T.UNKNOWN
        for item in node.items:
            it = self._expr(item, scope)
            u = T.unify(elem, it)
            if u is None:
                self.error("KR201", f"list items must have one type, found {elem} and {it}", item.span)
            else:
                elem = u
        return T.list_of(elem)

    def _e_Name(self, node, scope):
        name = node.id
        if name in RESERVED and self._no_context:
            self.error("KR206", f"`{name}` has no value in a `require` rule: it checks data rows "
                       "before any payee or period", node.span, "compare the row's own columns (and lookups by "
                       "key); a rule per payee or period is a `let` or an `eligible when`")
            return T.UNKNOWN
        if name == "payee":
            self.resolution[id(node)] = ("payee",)
            payees = self.header.get("payees", "people")
            return T.row(payees) if payees in self.inputs else T.UNKNOWN  # else KR101 on `payees`
        if name == "period":
            self.resolution[id(node)] = ("period",)
            return T.PERIOD
        for depth in range(len(scope.frames) - 1, -1, -1):
            kind, data = scope.frames[depth]
            if kind == "params" and name in data:
                self.resolution[id(node)] = ("param", name)
                return data[name]
            if kind == "row" and name in self.inputs[data].columns:
                self.resolution[id(node)] = ("column", depth, data, name)
                return self.inputs[data].columns[name].type
        if name in self.defs:
            if isinstance(self.defs[name], ast.Decision):
                self.error("KR201", f"`{name}` is a {self.defs[name].kind}; call it with arguments",
                           node.span, f"e.g. {name}(...)")
                return T.UNKNOWN
            self._dep(name)
            self.resolution[id(node)] = ("def", name)
            return self._def_type(name)
        if name in self.inputs:
            self.resolution[id(node)] = ("table", name)
            return T.rows(name)
        candidates = set(self.defs) | set(self.inputs) | set(RESERVED)
        for kind, data in scope.frames:
            candidates |= set(data) if kind == "params" else set(self.inputs[data].columns)
        hint = did_you_mean(name, candidates)
        if hint is None and name in ROUNDING_MODES or name in ROUND_STEPS:
            hint = "rounding steps and modes are arguments of round(x, cent, half_up)"
        self.error("KR101", f"undefined name `{name}`", node.span, hint)
        return T.UNKNOWN

    def _dep(self, name):
        if self._current is not None:
            self.deps.setdefault(self._current, set()).add(name)

    def _e_Attr(self, node, scope):
        # qualified column: `deals.amount` while iterating deals
        if isinstance(node.obj, ast.Name):
            for depth in range(len(scope.frames) - 1, -1, -1):
                kind, data = scope.frames[depth]
                if kind == "row" and data == node.obj.id:
                    cols = self.inputs[data].columns
                    if node.name not in cols:
                        self.error("KR104", f"`{data}` has no column `{node.name}`", node.span,
                                   did_you_mean(node.name, cols))
                        return T.UNKNOWN
                    self.resolution[id(node)] = ("column", depth, data, node.name)
                    self.types[id(node.obj)] = T.row(data)
                    return cols[node.name].type
        ot = self._expr(node.obj, scope)
        if ot.kind == "row":
            cols = self.inputs[ot.table].columns
            if node.name == "id" and "id" not in cols:
                self.resolution[id(node)] = ("row_id",)
                return T.TEXT
            if node.name not in cols:
                self.error("KR104", f"`{ot.table}` has no column `{node.name}`", node.span,
                           did_you_mean(node.name, cols) or f"declare it in `input {ot.table}`")
                return T.UNKNOWN
            self.resolution[id(node)] = ("field", node.name)
            return cols[node.name].type
        if ot.kind == "period":
            if node.name not in PERIOD_ATTRS:
                self.error("KR104", f"a period has no attribute `{node.name}`", node.span,
                           did_you_mean(node.name, PERIOD_ATTRS) or "attributes: " + ", ".join(PERIOD_ATTRS))
                return T.UNKNOWN
            calc = self.header.get("period")
            if node.name in KINDS and calc and KINDS.index(node.name) < KINDS.index(calc):
                self.error("KR201", f"`.{node.name}` of a {calc}: the plan computes by {calc}, "
                           f"which has no single {node.name}", node.span,
                           f"use period.start or period.end, or compute by {node.name}")
                return T.UNKNOWN
            self.resolution[id(node)] = ("period_attr", node.name)
            return PERIOD_ATTRS[node.name]
        if ot.kind != "unknown":
            self.error("KR104", f"{ot} has no attribute `{node.name}`", node.span)
        return T.UNKNOWN

    def _e_Index(self, node, scope):
        ot = self._expr(node.obj, scope)
        kt = self._expr(node.key, scope)
        if ot.kind == "unknown":
            return T.UNKNOWN
        if ot.kind != "rows" or not isinstance(node.obj, ast.Name):
            self.error("KR201", f"only a table can be looked up by key, not {ot}", node.span)
            return T.UNKNOWN
        table = self.inputs[ot.table]
        if table.key is None:
            self.error("KR206", f"`{table.name}` has no key to look rows up by", node.span,
                       f"declare one: input {table.name} key <column> {{ ... }}")
            return T.UNKNOWN
        if table.key not in table.columns:
            return T.UNKNOWN  # KR104 on the input's `key`
        want = table.columns[table.key].type
        if not T.assignable(want, kt):
            self.error("KR201", f"key of `{table.name}` is {want}, not {kt}", node.key.span)
        return T.row(table.name)

    def _e_Neg(self, node, scope):
        t = self._expr(node.expr, scope)
        if not (t.numeric or t.kind == "unknown"):
            self.error("KR201", f"cannot negate {t}", node.span)
        return t

    def _e_Not(self, node, scope):
        self._expect_bool(node.expr, scope)
        return T.BOOL

    def _e_IfElse(self, node, scope):
        self._expect_bool(node.cond, scope)
        a = self._expr(node.then, scope)
        b = self._expr(node.else_, scope)
        u = T.unify(a, b)
        if u is None:
            self.error("KR201", f"the two arms of this if give {a} and {b}", node.span,
                       _unit_hint(a, b))
            return T.UNKNOWN
        return u

    def _e_BinOp(self, node, scope):
        op = node.op
        if op in ("and", "or"):
            self._expect_bool(node.left, scope)
            self._expect_bool(node.right, scope)
            return T.BOOL
        a = self._expr(node.left, scope)
        b = self._expr(node.right, scope)
        try:
            if op in "+-*/":
                return T.arith(op, a, b)
            if op in ("in", "not in"):
                if b.kind == "period" and a.kind in ("date", "period", "unknown"):
                    return T.BOOL
                if b.kind == "list":
                    T.comparable("==", a, b.elem)
                    return T.BOOL
                if b.kind == "unknown":
                    return T.BOOL
                raise T.TypeProblem("KR201", f"`in` needs a period or a list on the right, not {b}",
                                    'e.g. `close_date in period` or `status in ["won", "cancelled"]`')
            T.comparable(op, a, b)
            return T.BOOL
        except T.TypeProblem as p:
            sides = [(side.span, f"this is {t}") for side, t in ((node.left, a), (node.right, b))
                     if side.span.line > 0]
            self.error(p.code, p.message, node.span, self._own_value_hint(node, a, b) or p.hint,
                       labels=sides if len(sides) == 2 else ())
            return T.UNKNOWN

    def _own_value_hint(self, node, a, b) -> str | None:
        """For money beside a bare number literal (`target + 100`, `quarterly > 0`): the fix
        written with the user's own number and the money's currency (`100 EUR`)."""
        for bare, other in ((node.right, a), (node.left, b)):
            if other.kind == "money" and isinstance(bare, ast.Number) and not bare.percent:
                cur = other.currency or self.header.get("currency", "EUR")
                return f"write the amount with its currency: `{bare.text} {cur}`"
        return None

    def _e_Where(self, node, scope):
        st = self._expr(node.source, scope)
        if st.kind == "unknown":
            return T.UNKNOWN
        if st.kind != "rows":
            self.error("KR201", f"`where` filters rows of a table, not {st}", node.source.span,
                       "e.g. `deals where status == \"won\"`")
            return T.UNKNOWN
        inner = scope.push(("row", st.table))
        self._expect_bool(node.cond, inner)
        self.filters[id(node)] = self._split_filter(node, st.table, len(inner.frames) - 1)
        self.wheres.append((node, st.table, len(inner.frames) - 1))
        return st

    def _split_filter(self, node, table, depth) -> Filter:
        conj = []

        def flat(e):
            while isinstance(e, ast.Paren):
                e = e.expr
            if isinstance(e, ast.BinOp) and e.op == "and":
                flat(e.left)
                flat(e.right)
            else:
                conj.append(e)

        flat(node.cond)
        eq, in_period, rest, assigned = [], [], [], []
        for c in conj:
            hint = self._assigned_hint(c, depth)
            if hint is not None:
                assigned.append(hint)
            col = self._own_column(getattr(c, "left", None), depth)
            other = getattr(c, "right", None)
            if isinstance(c, ast.BinOp) and c.op == "==" and col is None:
                col, other = self._own_column(c.right, depth), c.left
            if col and isinstance(c, ast.BinOp) and not self._reads_row(other, depth):
                ctype = self.inputs[table].columns[col].type
                if c.op == "==":
                    eq.append((col, other))
                    continue
                if c.op == "in" and ctype.kind == "date" and self.types.get(id(other)) == T.PERIOD:
                    in_period.append((col, other))
                    continue
            rest.append(c)
        return Filter(table, tuple(eq), tuple(in_period), tuple(rest), tuple(assigned))

    def _assigned_hint(self, c, depth):
        """`assignee(own_column, role, day) == payee_expr` -> (column, role, payee_expr)."""
        if not (isinstance(c, ast.BinOp) and c.op == "=="):
            return None
        for call, other in ((c.left, c.right), (c.right, c.left)):
            if isinstance(call, ast.Call) and call.func == "assignee" and len(call.args) == 3:
                col = self._own_column(call.args[0], depth)
                if col and not self._reads_row(call.args[1], depth) and not self._reads_row(other, depth):
                    return (col, call.args[1], other)
        return None

    def _own_column(self, e, depth):
        if e is None:
            return None
        r = self.resolution.get(id(e))
        if r and r[0] == "column" and r[1] == depth:
            return r[3]
        return None

    def _reads_row(self, e, depth) -> bool:
        """Does expression `e` read a column of the row frame at `depth` or deeper?"""
        found = False

        def walk(x):
            nonlocal found
            r = self.resolution.get(id(x))
            if r and r[0] == "column" and r[1] >= depth:
                found = True
            if isinstance(x, ast.Name) and r and r[0] == "def":
                found = found  # definitions are per payee-period, never per row
            for child in _children(x):
                walk(child)

        walk(e)
        return found


_RULES: dict = {}  # AST node type -> Checker._e_<Type>, filled on first use
_SHALLOW = 40  # definitions typed in declaration order (recursing at most this deep)


def _post_order(nodes, edges, on_cycle=None) -> list:
    """Depth-first post-order of `nodes` along `edges(n)`, with an explicit stack;
    on_cycle([a, b, ..., a]) is called for each back edge found."""
    order, state = [], {}
    for root in nodes:
        if state.get(root):
            continue
        state[root] = 1
        path, stack = [root], [iter(edges(root))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done = path.pop()
                state[done] = 2
                order.append(done)
            elif state.get(nxt) == 1:
                if on_cycle is not None:
                    on_cycle(path[path.index(nxt):] + [nxt])
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges(nxt)))
    return order


def _names_in(node) -> list[str]:
    """Every identifier an AST subtree mentions (names and called functions), iteratively."""
    out, todo = [], [node]
    while todo:
        x = todo.pop()
        if isinstance(x, ast.Name):
            out.append(x.id)
        elif isinstance(x, ast.Call):
            out.append(x.func)
        if isinstance(x, tuple):
            todo.extend(x)
        else:
            todo.extend(_children(x))
    return out


def _children(x):
    if isinstance(x, tuple):
        for y in x:
            yield from _children(y)
        return
    if not hasattr(type(x), "__attrs_attrs__"):
        return
    for a in type(x).__attrs_attrs__:
        v = getattr(x, a.name)
        if isinstance(v, tuple) or hasattr(type(v), "__attrs_attrs__"):
            if a.name != "span":
                yield v


def check(plan: ast.Plan, source: SourceFile) -> tuple[CheckedPlan | None, list[Diagnostic]]:
    """Check a parsed plan; return the checked plan (None if any error) and all diagnostics."""
    c = Checker(plan, source)
    result = c.run()
    return result, sorted(c.diags, key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))


def check_file(path: str):
    """Parse and check a plan file: the CheckedPlan, or raise KamError with every check error."""
    from kamrules.syntax.parser import parse_file
    plan, source = parse_file(path)
    checked, diags = check(plan, source)
    errors = [d for d in diags if d.is_error]
    if errors:
        raise KamError(errors)
    return checked
