"""The derivation of a statement, for auditors: one `Step` per trace node in plain words,
with the plan line(s) behind it, the data rows, the if-branches taken and the caps or floors
that applied (min/max), and why a component was not paid in a period. Shown collapsed
under each component (report/statement_html.py), with exact values. Sentences and notes
are kept as `words.Said` and said in the statement's locale when rendered.
"""
from __future__ import annotations

import re

import attrs

from kamrules.backends.interp.arith import Problem
from kamrules.core import ir
from kamrules.core.types import TYPE_NAMES
from kamrules.syntax import ast
from kamrules.trace.tree import TraceNode, owned_nodes, span_text
from kamrules.report import words

MAX_ROWS = 25


@attrs.define
class Step:
    name: str
    kind: str
    depth: int
    sentence: words.Said
    lines: list  # [(line number, source text)]
    rows: list  # [RowRef]
    more_rows: int = 0
    notes: list = attrs.Factory(list)  # [words.Said]
    unit: str | None = None
    others: int = 0  # rows of a set that no amount of this payee reads: not listed (own_rows)


def num(v):
    return v.amount if hasattr(v, "currency") and hasattr(v, "amount") else v


def source_lines(source, first: int, last: int) -> list:
    lines = _LINES.get(id(source))
    if lines is None or lines[0] is not source:  # a plan's lines, split once for every payee
        if len(_LINES) > 64:
            _LINES.clear()
        lines = _LINES[id(source)] = (source, source.text.splitlines())
    lines = lines[1]
    return [(n, lines[n - 1]) for n in range(max(first, 1), min(last, len(lines)) + 1)]


_LINES: dict = {}  # id(source) -> (source, its lines)


def decision_of(plan, node: TraceNode):
    name = node.name.split("(", 1)[0]
    d = plan.definitions.get(name)
    return d if d is not None and d.kind == "decision" else None


def absent_reason(plan, ev, ctx, name) -> words.Said:
    comp = ev.plan.definitions[name].node  # lowered (core.ir): its bounds are evaluated
    if comp.valid_from is not None or comp.valid_to is not None:
        lo = ev.constant(comp.valid_from) if comp.valid_from is not None else None
        hi = ev.constant(comp.valid_to) if comp.valid_to is not None else None
        if (lo is not None and ctx.period.end < lo) or (hi is not None and ctx.period.start > hi):
            return words.Said("{name}: runs from {start} to {end} only (line {line})", dict(
                name=name, start=words.Val(lo) if lo else "…", end=words.Val(hi) if hi else "…",
                line=str(comp.span.line)))
    if comp.when is not None:
        return words.Said("{name}: not paid this period: `when {condition}` (line {line}) is false", dict(
            name=name, condition=span_text(plan.source, comp.when.span), line=str(comp.when.span.line)))
    return words.Said("{name}: not paid this period", dict(name=name))


def own_rows(traces) -> set:
    """(table, row) of every row an amount of the payee reads (the rows of the aggregates of
    their payouts' derivations): a set of rows the plan selects for everyone (charter's `won`:
    every won deal of the period) lists only these in the payee's statement, the others
    counted, not named (another payee's deals are none of this payee's business)."""
    return {(r.table, r.row) for t in traces if t is not None
            for n, _ in owned_nodes(t) if n.kind == "aggregate" for r in n.rows}


def steps(plan, node: TraceNode, depth: int, out: list, seen: set, paid: dict, where=None, own=None):
    """The derivation's steps under `node`, depth first; own: own_rows of the payee (None:
    every row listed)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    unit = node.unit
    lines = []
    notes = []
    label = None
    d = plan.definitions.get(node.name)
    if node.kind in ("component", "let", "param") and node.span is not None and d is not None:
        lines, said = _head(plan, d, node)
        notes = list(said)
        if where is not None:
            notes += _caps(plan, d, where)
    elif node.kind == "decision":
        got = _decision_head(plan, node)
        if got is not None:
            unit, label, lines = got
    elif node.kind == "paid":
        paid[node.name] = words.sentence(node)
        if node.span is not None:
            lines = source_lines(plan.source, node.span.line, node.span.line)
    rows, others = node.rows, 0
    if own is not None and node.kind != "aggregate" and rows:
        rows = [r for r in rows if (r.table, r.row) in own]
        others = len(node.rows) - len(rows)
    out.append(Step(node.name, node.kind, depth, words.sentence(node, unit, label), lines,
                    list(rows[:MAX_ROWS]), max(0, len(rows) - MAX_ROWS), notes, unit, others))
    if node.kind == "paid":
        return  # earlier periods: their own statements explain them
    for c in node.children:
        steps(plan, c, depth + 1, out, seen, paid, where, own)


def _head(plan, d, node) -> tuple:
    """(plan lines, notes of the branches taken) of a definition's step: a function of the
    plan, the definition, its span and the branches taken, made once for every payee (the
    lists are shared: read only)."""
    key = (id(plan), node.name, node.span.line, node.span.end_line, node.branch)
    hit = _HEADS.get(key)
    if hit is not None and hit[0] is plan:
        return hit[1]
    lines = source_lines(plan.source, node.span.line, node.span.end_line)
    notes: list = []
    for part in (node.branch or "").split("; "):
        m = re.match(r"line (\d+): (then|else)$", part)
        if m:
            for f in _ifs(d.node.expr):
                if f.span.line == int(m.group(1)):
                    cond = span_text(plan.source, f.cond.span)
                    notes.append(words.Said(
                        "line {line}: `{condition}` is true, so the `then` branch applies" if m.group(2) == "then"
                        else "line {line}: `{condition}` is false, so the `else` branch applies",
                        dict(line=str(f.span.line), condition=cond)))
                    break
        elif part.startswith(("prorated", "held: ", "released: ", "paid for ")):
            notes.append(words.engine_note(part))
    if len(_HEADS) > 65536:
        _HEADS.clear()
    _HEADS[key] = (plan, (lines, notes))
    return lines, notes


def _decision_head(plan, node):
    """(unit, label, plan lines: the table's first line and the row taken) of a decision's
    step, None when the node names no decision; made once per plan, decision and branch."""
    key = (id(plan), "decision", node.name, node.branch)
    hit = _HEADS.get(key)
    if hit is not None and hit[0] is plan:
        return hit[1]
    dd = decision_of(plan, node)
    got = None
    if dd is not None:
        label = words.call_label(node.name, [TYPE_NAMES.get(t.name) for _, t in dd.node.params])
        m = re.match(r"rows? (\d+)", node.branch or "")
        first = [(dd.span.line, plan.source.line_text(dd.span.line))]
        if m and 1 <= int(m.group(1)) <= len(dd.node.rows):
            row = dd.node.rows[int(m.group(1)) - 1]
            lines = first + source_lines(plan.source, row.span.line, row.span.line)
        else:
            lines = first
        got = (dd.type.kind, label, lines)
    if len(_HEADS) > 65536:
        _HEADS.clear()
    _HEADS[key] = (plan, got)
    return got


_HEADS: dict = {}  # (id(plan), name, span or "decision", branches) -> (plan, what the step shows of it)


def _ifs(expr) -> list:
    """The if-else nodes of a definition's expression, found once."""
    known = _IFS.get(id(expr))
    if known is None or known[0] is not expr:
        known = _IFS[id(expr)] = (expr, words.find_nodes(expr, lambda n: isinstance(n, ast.IfElse)))
    return known[1]


_IFS: dict = {}  # id(expression) -> (expression, its if-else nodes)


def _caps(plan, d, where) -> list:
    """Why-not notes for two-argument min/max in a definition: which side won (a cap, a floor)."""
    ev, payee, period = where
    out = []
    expr = ev.plan.definitions[d.name].node.expr
    known = _MINMAX.get(id(expr))
    if known is None or known[0] is not expr:  # the calls of a definition, found once
        known = _MINMAX[id(expr)] = (expr, words.find_nodes(
            expr, lambda n: isinstance(n, ir.Call) and n.func in ("min", "max") and len(n.args) == 2))
    for call in known[1]:
        try:
            ctx = ev.context(payee, period)
            a, b = (ev.ev(x, ctx, ()) for x in call.args)
        except (Problem, LookupError, TypeError, AttributeError, ArithmeticError):
            continue
        if a is None or b is None or num(a) == num(b):
            continue
        units = [x.type for x in call.args]
        shown = [words.Val(v, t.kind if t is not None else None) for v, t in zip((a, b), units)]
        texts = [span_text(plan.source, x.span) for x in call.args]
        keep = 0 if (num(a) < num(b)) == (call.func == "min") else 1
        limits = [is_limit(plan, x) for x in call.args]
        line = str(call.span.line)
        if limits[0] == limits[1]:
            out.append(words.Said("line {line}: {func}() keeps {kept} (`{a}` = {a_value}, `{b}` = {b_value})", dict(
                line=line, func=call.func, kept=shown[keep], a=texts[0], a_value=shown[0], b=texts[1],
                b_value=shown[1])))
            continue
        lim = 0 if limits[0] else 1
        values = dict(line=line, limit=texts[lim], limit_value=shown[lim], other=texts[1 - lim],
                      other_value=shown[1 - lim])
        if keep == lim:
            out.append(words.Said("line {line}: the cap `{limit}` = {limit_value} applies: `{other}` is {other_value}"
                                  if call.func == "min" else "line {line}: the floor `{limit}` = {limit_value} "
                                  "applies: `{other}` is {other_value}", values))
        else:
            out.append(words.Said("line {line}: `{other}` = {other_value} is under the cap `{limit}` = {limit_value}"
                                  if call.func == "min" else "line {line}: `{other}` = {other_value} is above the "
                                  "floor `{limit}` = {limit_value}", values))
    return out


_MINMAX: dict = {}  # id(expression) -> (expression, its two-argument min/max calls)


def is_limit(plan, node) -> bool:
    """A literal or a param: the fixed side of a cap or a floor."""
    while isinstance(node, ir.Neg):
        node = node.expr
    if isinstance(node, (ir.Number, ir.MoneyLit)):
        return True
    r = node.ref if isinstance(node, ir.Name) else None
    return r is not None and r[0] == "def" and plan.definitions[r[1]].kind == "param"
