"""Lints: warnings (KR5nn) about plans that check but are probably not what the author meant.

`lint(checked)` runs on a checked plan, before any data is read:
  KR501 a curve whose output goes down (within a row or at a row boundary),
  KR502 a curve that jumps up at a row boundary (except a threshold: a step up from 0),
  KR503 a param, let, curve, table, input or input column that nothing reads,
  KR504 `money(1000)`: a bare number turned into money (write `1000 EUR`),
  KR505 component weights (`70% * ...` params) that do not add up to 100%,
  KR506 more than `MAX_MEASURES` measures feeding the components.
`lint_data(checked, tables)` needs the data (run by `kamrules check --data DIR`):
  KR507 a payee whose variable share of the package is outside 10%-50%.
`filter_findings` applies `# noqa` comments and the `[tool.kamrules]` select/ignore lists;
errors are never filtered, only warnings.
"""
from __future__ import annotations

import decimal
import re
from decimal import Decimal

from kamrules.syntax import ast
from kamrules.core.builtins import AGGREGATES
from kamrules.diagnostics.diagnostic import Diagnostic, Severity
from kamrules.check.plan import CheckedPlan
from kamrules.core.numeric import CONTEXT
from kamrules.diagnostics.source import Span
from kamrules.check.tables import constant

MAX_MEASURES = 4
SHARE_RANGE = (Decimal("0.10"), Decimal("0.50"))
# Columns the engine reads without the plan naming them (built-ins over fixed tables).
IMPLICIT_COLUMNS = {
    "assignments": {"account_id", "payee_id", "role", "start_date", "end_date"},
    "fx_rates": {"date", "from", "to", "rate"},
    # reporting lines, read by manager_of() and below() (backends/interp/hierarchy.py)
    "reports_to": {"payee_id", "manager_id", "start_date", "end_date"},
    # manual adjustments, paid by a run against a ledger (kamrules/ledger/manual.py)
    "adjustments": {"payee_id", "period", "component", "amount", "currency", "reason", "reference"},
}
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>KR\d+(?:\s*,\s*KR\d+)*))?", re.IGNORECASE)
_CTX = CONTEXT  # every computation here (folding curves, shares) in the house context


def _warn(code, message, span, hint=None, related=()) -> Diagnostic:
    return Diagnostic(code, message, span, hint, Severity.WARNING, tuple(related))


# ---------------------------------------------------------------- tree walking
_FIELDS: dict = {}  # node type -> the attribute names that may hold child nodes


def _fields(t) -> tuple:
    names = _FIELDS.get(t)
    if names is None:
        if not hasattr(t, "__attrs_attrs__") or issubclass(t, (Span, ast.TypeRef)):
            names = ()
        else:
            names = tuple(a.name for a in t.__attrs_attrs__ if a.name not in ("span", "comments"))
        _FIELDS[t] = names
    return names


def _children(x):
    if isinstance(x, tuple):
        return x
    out = []
    for name in _fields(type(x)):
        v = getattr(x, name)
        if isinstance(v, tuple) or _fields(type(v)) or hasattr(type(v), "__attrs_attrs__"):
            out.append(v)
    return out


def _walk(x):
    """Every node under x (itself included), parents before children, left to right.
    Iterative: a stack, not nested generators (whose cost grows with the depth)."""
    todo = [x]
    while todo:
        x = todo.pop()
        if x is None:
            continue
        if not isinstance(x, tuple):
            yield x
        todo.extend(reversed(_children(x)))


def _unparen(e):
    while isinstance(e, ast.Paren):
        e = e.expr
    return e


def _name_span(plan: CheckedPlan, span: Span, name: str) -> Span:
    """The span of `name` in the first line of a statement (falls back to the statement)."""
    text = plan.source.line_text(span.line)
    m = re.compile(r"\b" + re.escape(name) + r"\b").search(text, max(span.column - 1, 0))
    if m is None:
        return span
    return Span(span.file, span.line, m.start() + 1, span.line, m.end() + 1)


def _fmt(v: Decimal, kind: str, currency: str | None = None) -> str:
    if kind == "rate":
        return format(_CTX.multiply(v, 100).normalize(_CTX), "f") + "%"
    text = format(v.normalize(), "f")
    return f"{text} {currency}" if kind == "money" and currency else text


# ---------------------------------------------------------------- entry points
def lint(plan: CheckedPlan) -> list[Diagnostic]:
    """Every warning about a checked plan, sorted by position."""
    diags = []
    for name, d in plan.definitions.items():
        if d.kind == "decision" and d.node.kind == "curve":
            diags += _curve(plan, d.node)
    diags += _unused(plan)
    diags += _bare_money(plan)
    diags += _bare_rate(plan)
    diags += _weights(plan)
    diags += _measures(plan)
    return sorted(diags, key=lambda d: (d.span.line, d.span.column, d.code) if d.span else (0, 0, d.code))


def lint_data(plan: CheckedPlan, tables: dict) -> list[Diagnostic]:
    """Warnings that need the data: KR507 variable share of the package outside 10%-50%."""
    payees = plan.inputs.get(plan.payees_table)
    if payees is None or not {"annual_fixed", "annual_variable"} <= set(payees.columns):
        return []
    table = tables.get(plan.payees_table)
    if table is None:
        return []
    lo, hi = SHARE_RANGE
    out = []
    span = _name_span(plan, payees.columns["annual_variable"].span, "annual_variable")
    for row in table.rows:
        fixed, variable = row.values.get("annual_fixed"), row.values.get("annual_variable")
        if fixed is None or variable is None:
            continue
        f = getattr(fixed, "amount", fixed)
        v = getattr(variable, "amount", variable)
        total = _CTX.add(f, v)
        if total <= 0:
            continue
        share = _CTX.divide(v, total)
        if lo <= share <= hi:
            continue
        pct = format(_CTX.quantize(_CTX.multiply(share, 100), Decimal(1)).normalize(_CTX), "f")
        out.append(_warn(
            "KR507", f"payee `{row.id}` ({table.path}:{row.number}): variable is {pct}% of the "
            f"package, outside {_fmt(lo, 'rate')}-{_fmt(hi, 'rate')}", span,
            "below 10% the variable does not steer behaviour; above 50% the fixed pay is too "
            "thin; check the figures or ignore KR507 in [tool.kamrules]"))
    return out


# ---------------------------------------------------------------- KR501 / KR502 curves
def _fold(e, plan: CheckedPlan, depth=0):
    """A curve output as (a, b) meaning a + b * x for the curve's input x, or None."""
    e = _unparen(e)
    if depth > 20:
        return None
    if isinstance(e, (ast.Number, ast.MoneyLit)):
        return (e.value, Decimal(0))
    r = plan.resolution.get(id(e))
    if isinstance(e, ast.Name) and r:
        if r[0] == "param":
            return (Decimal(0), Decimal(1))
        if r[0] == "def" and plan.definitions[r[1]].kind == "param":
            got = _fold(plan.definitions[r[1]].node.expr, plan, depth + 1)
            return got if got is not None and got[1] == 0 else None
        return None
    if isinstance(e, ast.Neg):
        got = _fold(e.expr, plan, depth + 1)
        return None if got is None else (-got[0], -got[1])
    if isinstance(e, ast.BinOp) and e.op in "+-*/":
        a, b = _fold(e.left, plan, depth + 1), _fold(e.right, plan, depth + 1)
        if a is None or b is None:
            return None
        with decimal.localcontext(_CTX):
            if e.op == "+":
                return (a[0] + b[0], a[1] + b[1])
            if e.op == "-":
                return (a[0] - b[0], a[1] - b[1])
            if e.op == "*":
                if a[1] == 0:
                    return (a[0] * b[0], a[0] * b[1])
                if b[1] == 0:
                    return (a[0] * b[0], a[1] * b[0])
                return None
            if b[1] != 0 or b[0] == 0:
                return None
            return (a[0] / b[0], a[1] / b[0])
    return None


def _interval(cell: ast.Cell):
    """(lo, lo_closed, hi, hi_closed) with None for an open end, or None if not a range."""
    if cell.kind == "any":
        return (None, False, None, False)
    if cell.kind == "cmp":
        v = constant(cell.lo)
        if not isinstance(v, Decimal):
            return None
        return {"<": (None, False, v, False), "<=": (None, False, v, True),
                ">": (v, False, None, False), ">=": (v, True, None, False)}.get(cell.op)
    if cell.kind == "range":
        lo, hi = constant(cell.lo), constant(cell.hi)
        if not (isinstance(lo, Decimal) and isinstance(hi, Decimal)) or cell.op not in ("<", "<="):
            return None
        return (lo, True, hi, cell.op == "<=")
    return None


def _curve(plan: CheckedPlan, node: ast.Decision) -> list[Diagnostic]:
    if len(node.params) != 1 or node.hit != "unique":
        return []
    rows = []
    for row in node.rows:
        iv = _interval(row.cells[0]) if len(row.cells) == 1 else None
        if iv is None:
            return []
        rows.append((iv, _fold(row.output, plan), row))
    rows.sort(key=lambda r: (r[0][0] is not None, r[0][0] if r[0][0] is not None else 0))
    in_kind = plan.definitions[node.name].node.params[0][1]
    in_kind = {"Rate": "rate", "Percent": "rate", "Money": "money"}.get(in_kind.name, "number")
    out_t = plan.definitions[node.name].type
    out_kind, cur = out_t.kind, out_t.currency
    x = node.params[0][0]
    diags = []
    with decimal.localcontext(_CTX):
        for iv, f, row in rows:
            if f is not None and f[1] < 0:
                diags.append(_warn("KR501", f"`{node.name}` goes down inside this row: its output "
                                   f"falls as `{x}` grows", row.span,
                                   "a payout curve should never pay less for a better result"))
        for (iv1, f1, r1), (iv2, f2, r2) in zip(rows, rows[1:]):
            at = iv1[2]
            if at is None or at != iv2[0] or f1 is None or f2 is None:
                continue
            left, right = f1[0] + f1[1] * at, f2[0] + f2[1] * at
            where = _fmt(at, in_kind, plan.currency)
            if right < left:
                diags.append(_warn(
                    "KR501", f"`{node.name}` drops from {_fmt(left, out_kind, cur)} to "
                    f"{_fmt(right, out_kind, cur)} at {x} = {where}", r2.span,
                    "a payout curve should never pay less for a better result; check the rows' "
                    "outputs", related=[(r1.span, "the row before")]))
            elif right > left and not (f1 == (0, 0)):
                diags.append(_warn(
                    "KR502", f"`{node.name}` jumps from {_fmt(left, out_kind, cur)} to "
                    f"{_fmt(right, out_kind, cur)} at {x} = {where}", r2.span,
                    f"start this row at {_fmt(left, out_kind, cur)} so the curve is continuous, "
                    "or add `# noqa: KR502` on this row if the step is intended",
                    related=[(r1.span, "the row before")]))
    return diags


# ---------------------------------------------------------------- KR503 unused
ON_TARGET = ("on_target_variable", "on_target", "target_variable")  # read by statements and the team page


def on_target_of(plan) -> str | None:
    """The plan's on-target variable: the first param or let named as ON_TARGET says, or None."""
    return next((n for n in ON_TARGET if n in plan.definitions
                 and plan.definitions[n].kind in ("param", "let")), None)

# columns of the payees table the statements and the team page show (the payee's name and role)
NAME_COLUMNS, ROLE_COLUMNS = ("name", "full_name"), ("role", "title")


def _plan_roots(plan: CheckedPlan):
    """Expressions that are used by definition: components, eligible, require rules."""
    for st in plan.plan.statements:
        if isinstance(st, ast.Eligible):
            yield st.cond
        elif isinstance(st, ast.Require):
            yield st.cond
        elif isinstance(st, ast.Component):
            yield st


def _refs(plan: CheckedPlan, expr) -> set:
    out = set()
    for n in _walk(expr):
        r = plan.resolution.get(id(n))
        if r and r[0] == "def":
            out.add(r[1])
        if isinstance(n, ast.Call) and n.func in plan.definitions:
            out.add(n.func)
    return out


def _unused(plan: CheckedPlan) -> list[Diagnostic]:
    seen, todo = set(), []
    for root in _plan_roots(plan):
        todo += list(_refs(plan, root))
    todo += plan.components
    while todo:
        n = todo.pop()
        if n in seen or n not in plan.definitions:
            continue
        seen.add(n)
        todo += list(plan.definitions[n].deps) + list(_refs(plan, plan.definitions[n].node))
    diags = []
    for name, d in plan.definitions.items():
        if name in seen or d.kind == "component" or (name in ON_TARGET and d.kind in ("param", "let")):
            continue
        word = d.node.kind if d.kind == "decision" else d.kind
        diags.append(_warn("KR503", f"{word} `{name}` is never used", _name_span(plan, d.span, name),
                           "remove it, or use it in a component"))
    # tables and columns: read anywhere in the plan text
    used_tables, used_cols = set(), set()
    for n in _walk(plan.plan.statements):
        r = plan.resolution.get(id(n))
        if not r:
            continue
        if r[0] == "column":
            used_cols.add((r[2], r[3]))
            used_tables.add(r[2])
        elif r[0] == "table":
            used_tables.add(n.id)
        elif r[0] == "field" and isinstance(n, ast.Attr):
            t = plan.types.get(id(n.obj))
            if t is not None and t.table:
                used_cols.add((t.table, r[1]))
                used_tables.add(t.table)
    for st in plan.plan.statements:
        if isinstance(st, ast.Require):
            used_tables.add(st.table)
    used_tables |= {plan.payees_table} | set(IMPLICIT_COLUMNS)
    # a table named by `references` is read to check those values (KR409)
    used_tables |= {col.references for table in plan.inputs.values() for col in table.columns.values()
                    if col.references}
    for tname, table in plan.inputs.items():
        if tname not in used_tables:
            diags.append(_warn("KR503", f"input `{tname}` is never used", _name_span(plan, table.span, tname),
                               "remove the input, or read it in a let or component"))
            continue
        implicit = IMPLICIT_COLUMNS.get(tname, set())
        for cname, col in table.columns.items():
            if (tname, cname) in used_cols or cname == table.key or cname in implicit \
                    or col.references or col.unique or cname == plan.payee_key \
                    or (tname == plan.payees_table
                        and cname in ("team", "annual_fixed") + NAME_COLUMNS + ROLE_COLUMNS):
                continue
            diags.append(_warn("KR503", f"column `{cname}` of `{tname}` is never used",
                               _name_span(plan, col.span, cname),
                               "remove it from the input, or use it"))
    return diags


# ---------------------------------------------------------------- KR504 money(1000)
def _bare_money(plan: CheckedPlan) -> list[Diagnostic]:
    out = []
    if plan.currency.startswith("payee."):  # money(500): how an amount of the payee's currency is written
        return out
    for n in _walk(plan.plan.statements):
        if isinstance(n, ast.Call) and n.func == "money" and len(n.args) == 1:
            arg = _unparen(n.args[0])
            if isinstance(arg, ast.Number) and not arg.percent:
                out.append(_warn("KR504", f"`money({arg.text})` turns a bare number into money",
                                 n.span, f"write the amount with its currency: `{arg.text} {plan.currency}`"))
    return out


_RATE_WORDS = {"rate", "pct", "percent", "percentage"}


def _bare_rate(plan: CheckedPlan) -> list[Diagnostic]:
    """A param named as a rate set to a bare number above 1 (`param booster_rate = 50`): it
    multiplies an amount 50 times, where 50% was meant; written 50% or 0.5 it is not flagged."""
    out = []
    for name, d in plan.definitions.items():
        if d.kind != "param" or not _RATE_WORDS & set(name.split("_")):
            continue
        value = _unparen(d.node.expr)
        if isinstance(value, ast.Number) and not value.percent and Decimal(value.text.replace("_", "")) > 1:
            out.append(_warn("KR504", f"`{name} = {value.text}` is a rate of {value.text} times, "
                                      f"not {value.text}%", value.span,
                             f"write a percentage: `{name} = {value.text}%` (or `# noqa: KR504` if "
                             f"{value.text} times is meant)"))
    return out


# ---------------------------------------------------------------- KR505 weights
def _factors(e):
    e = _unparen(e)
    if isinstance(e, ast.BinOp) and e.op == "*":
        return _factors(e.left) + _factors(e.right)
    if isinstance(e, ast.BinOp) and e.op == "/":
        return _factors(e.left)
    return [e]


def _weights(plan: CheckedPlan) -> list[Diagnostic]:
    if len(plan.components) < 2:
        return []
    weights = []  # (component, param name, value, param span)
    aggregating = _aggregating(plan)
    for cname in plan.components:
        found = []
        for f in _factors(plan.definitions[cname].node.expr):
            r = plan.resolution.get(id(f))
            if r and r[0] == "def" and r[1] in aggregating and plan.definitions[r[1]].type.kind == "money":
                return []  # a rate on an amount summed from rows (bookings * 5%): a commission, not a weight
            if r and r[0] == "def" and plan.definitions[r[1]].kind == "param":
                value = _unparen(plan.definitions[r[1]].node.expr)
                if isinstance(value, ast.Number) and value.percent:
                    found.append((cname, r[1], value.value, plan.definitions[r[1]].span))
        if len(found) != 1:
            return []
        weights.append(found[0])
    if len({w[1] for w in weights}) != len(weights):
        return []  # one param shared by components: a rate, not a weight
    total = sum((w[2] for w in weights), Decimal(0))
    if total == 1:
        return []
    terms = " + ".join(f"{p} {_fmt(v, 'rate')}" for _, p, v, _ in weights)
    first = weights[0]
    return [_warn("KR505", f"component weights add up to {_fmt(total, 'rate')}, not 100%: {terms}",
                  _name_span(plan, first[3], first[1]),
                  "adjust the weights so that on-target pay is 100% of the variable",
                  related=[(_name_span(plan, s, p), f"weight of `{c}`") for c, p, _, s in weights[1:]])]


# ---------------------------------------------------------------- KR506 measures


def _aggregating(plan: CheckedPlan) -> set:
    """Definitions (not decisions) that aggregate rows, themselves or through a definition
    they read. One pass in dependency order (plan.definitions is ordered): no recursion,
    linear in the plan."""
    out = set()
    for name, d in plan.definitions.items():
        if d.kind == "decision":
            continue
        if any(dep in out for dep in d.deps) or any(
                isinstance(n, ast.Call) and n.func in AGGREGATES
                and any(isinstance(a, (ast.Each, ast.Where, ast.Name)) for a in n.args)
                for n in _walk(d.node)):
            out.add(name)
    return out


def _measures(plan: CheckedPlan) -> list[Diagnostic]:
    found: dict = {}  # key -> label, insertion order
    aggregating = _aggregating(plan)
    seen_lets: set = set()  # a let reached twice is visited once (x * x chains stay linear)
    todo = [plan.definitions[c].node.expr for c in reversed(plan.components)]
    while todo:  # depth first, left to right, as the components read
        e = _unparen(todo.pop())
        r = plan.resolution.get(id(e))
        if isinstance(e, ast.Name) and r and r[0] == "def":
            d = plan.definitions[r[1]]
            if d.kind == "let":
                if r[1] in aggregating:
                    found.setdefault(r[1], r[1])
                elif r[1] not in seen_lets:
                    seen_lets.add(r[1])
                    todo.append(d.node.expr)
            continue
        if isinstance(e, ast.Call):
            if e.func in AGGREGATES:
                found.setdefault(e, f"{e.func}(...) at line {e.span.line}")
                continue
            if e.func == "paid":
                continue
        kids = []
        for child in _children(e):
            kids.extend(child if isinstance(child, tuple) else (child,))
        todo.extend(reversed(kids))
    if len(found) <= MAX_MEASURES:
        return []
    span = next((st.span for st in plan.plan.statements
                 if isinstance(st, ast.Header) and st.key == "plan"), plan.definitions[plan.components[0]].span)
    return [_warn("KR506", f"the components depend on {len(found)} measures (more than {MAX_MEASURES}): "
                  + ", ".join(found.values()), span,
                  "a payee steers by 3 or 4 measures at most; merge or drop some, or ignore KR506 "
                  "in [tool.kamrules]")]


# ---------------------------------------------------------------- suppression
def noqa_codes(line: str):
    """Codes a `# noqa` comment on this line silences: a set, 'all', or None."""
    m = _NOQA.search(line)
    if m is None:
        return None
    if not m.group("codes"):
        return "all"
    return {c.strip().upper() for c in m.group("codes").split(",")}


def _matches(code: str, patterns) -> bool:
    return any(code.startswith(p) for p in patterns)


def filter_findings(diags, source=None, select=None, ignore=()) -> list[Diagnostic]:
    """Drop warnings silenced by `# noqa` on their line or not selected by the config.

    `select`/`ignore` hold codes or prefixes (`KR5` matches every lint). Errors always stay.
    """
    out = []
    for d in diags:
        if d.is_error:
            out.append(d)
            continue
        if select is not None and not _matches(d.code, select):
            continue
        if _matches(d.code, ignore):
            continue
        if source is not None and d.span is not None and d.span.file == source.path:
            codes = noqa_codes(source.line_text(d.span.line))
            if codes == "all" or (codes and d.code in codes):
                continue
        out.append(d)
    return out
