"""The trace of the plan's `eligible when`: what made a payee eligible or not in a period.

The condition is evaluated as the evaluator does (`and`/`or` stop at the first operand that
decides), with one trace node per test it reaches: a comparison (`payee.start_date <=
period.end`), a call (`present(payee.end_date)`), a `not` of one of them, or a plain value
(`payee.active`). Each test's node holds its value and, as children, the values of the data
it reads: payee columns, period bounds, a looked-up row's column (`payee.start_date =
2025-04-01`, `period.end = 2025-03-31`); the lets, aggregations and decisions it reads are
traced under it as they are under a component. A test the condition never reaches (after
`false and`) is not shown: it did not decide.
"""
from __future__ import annotations

import sys

from kamrules.core import ir
from kamrules.trace.tree import TraceNode, span_text
from kamrules.backends.interp.arith import Problem


def traced_condition(ev, expr, ctx, parent: TraceNode) -> bool:
    """The value of condition `expr` for ctx's payee and period (as bool(ev.ev(expr, ctx, ()))),
    each test it reaches added to `parent.children` with its operands."""
    if isinstance(expr, ir.BinOp) and expr.op in ("and", "or"):
        left = traced_condition(ev, expr.left, ctx, parent)
        if left == (expr.op == "or"):  # `true or ...`, `false and ...`: decided
            return left
        return traced_condition(ev, expr.right, ctx, parent)
    if isinstance(expr, ir.Not) and _is_logic(expr.expr):
        return not traced_condition(ev, expr.expr, ctx, parent)
    text, reads, places = _test(ev.plan, expr)
    if expr.span == parent.span:  # the whole condition is one test: its node is the parent
        node, value = parent, bool(ev.ev(expr, ctx, ()))
    else:
        node = TraceNode(text, "condition", expr.span)
        parent.children.append(node)
        value = bool(ev._in_node(node, lambda: ev.ev(expr, ctx, ())))
        node.value = value
    for leaf, name in reads:
        try:
            v = ev.ev(leaf, ctx, ())
        except Problem:  # a read the test did not make (the other arm of an `if`): not shown
            continue
        node.children.append(TraceNode(name, "operand", None, value=v,
                                       unit=leaf.type.kind if leaf.type is not None else None))
    node.children.sort(key=lambda c: _place(c, places, expr.span))  # `payee.quota >= min_quota`: in order
    return value


_LAST = (sys.maxsize, 0)


def _place(child: TraceNode, places: dict, span) -> tuple:
    """Where in the test the value of `child` is read: an operand or a let, param or component
    by the first place its name is written; an aggregation or a decision by its own span
    when it lies in the test; else after them (stable: in the order evaluated)."""
    found = places.get(child.name)
    if found is not None:
        return found
    s = child.span
    if s is not None and (span.line, span.column) <= (s.line, s.column) <= (span.end_line, span.end_column):
        return s.line, s.column
    return _LAST


def _test(plan, expr) -> tuple:
    """(the test's text, [(operand, its text)] once each, {operand text or definition name: the
    (line, column) it is first written at}), worked out once per plan."""
    memo = plan.cache.setdefault("interp.conditions", {})
    found = memo.get(expr.uid)
    if found is None:
        reads, places = [], {}
        for leaf in operands(expr):
            name = span_text(plan.source, leaf.span)
            if name and name not in places and leaf is not expr:
                places[name] = (leaf.span.line, leaf.span.column)
                reads.append((leaf, name))
        for n in ir.walk(expr):
            if isinstance(n, ir.Name) and n.ref[0] == "def":
                places.setdefault(n.id, (n.span.line, n.span.column))
        found = memo[expr.uid] = (span_text(plan.source, expr.span) or type(expr).__name__, reads, places)
    return found


def _is_logic(expr) -> bool:
    return isinstance(expr, ir.Not) or isinstance(expr, ir.BinOp) and expr.op in ("and", "or")


def operands(expr):
    """The data values a test reads, in the order written: `payee.COLUMN`, `period.ATTR`,
    `period`, a looked-up row's column (`extra[payee.id].focus`). Lets, params and
    components are left out (each is a trace node of its own), so are literals and the
    rows of an aggregation (its node lists them)."""
    todo = [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, ir.Attr) or isinstance(node, ir.Name) and node.ref == ("period",):
            yield node
        elif not isinstance(node, (ir.Name, ir.Where, ir.Each, ir.Index) + ir.LITERALS):
            todo.extend(reversed([c for c in ir.children(node) if c is not None]))
