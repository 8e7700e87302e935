"""The counts behind a component (`let created = count(my_leads where created_date in
period ...)`, `component c = 150 EUR * created + 300 EUR * signed`): which aggregates count
rows, and what one row counted pays when the component pays a fixed amount per row; and the
other aggregates over rows that credit none but read them (`max(amount for mine)`, `min`,
`avg`): their rows are shown read, the one a min or max keeps marked.

`counts` finds, in a component's trace, each `count(...)` written in the plan (once, in trace
order) with the let that holds it and its call in the plan; `per_row` reads the amount the
component multiplies the count by (`150 EUR * created`: 150 EUR, evaluated for the payee and
period, never guessed from the total), None when the count is not such a term (`if created
>= 3 then ...`). report/rows_tables.py makes the tables of rows, report/statement_text.py the
sentence (`1 created × €150.00 + 0 signed × €300.00`).
"""
from __future__ import annotations

from kamrules.backends.interp.arith import Problem
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.core.numeric import Money
from kamrules.report.words import find_nodes
from kamrules.trace.tree import owned_nodes

KINDS = ("count", "min", "max", "avg")  # the aggregates over rows that are no sum (report/rowdetail.py)


def counts(plan, trace) -> list:
    """[(rows, value, owner let or None, the call in the plan)] of each count, min, max or avg
    over rows in the trace (`max(amount for mine)`: the rows it reads, the largest kept), in
    trace order. A payout of several calculation periods (`payment quarter` on a monthly
    plan) counts the rows of each: a count's rows are merged, its value their number."""
    calls = calls_at(plan)
    found: dict = {}
    for node, owner in owned_nodes(trace):
        call = calls.get((node.span.line, node.span.column)) if node.kind == "aggregate" and node.span else None
        if call is not None:
            have = found.get((owner, id(call)))
            if have is None:
                found[(owner, id(call))] = [list(node.rows), node.value, owner, call]
            elif call.func == "count":
                known = {(r.table, r.row) for r in have[0]}
                have[0] += [r for r in node.rows if (r.table, r.row) not in known]
                have[1] = len(have[0])
    return [tuple(x) for x in found.values()]


_CALLS: dict = {}  # id(lowered plan) -> (lowered plan, {(line, column): call})


def calls_at(plan) -> dict:
    """(line, column) -> each call of a count, min, max or avg over rows in the plan: what a
    trace's aggregate node at that place computes (here, and report/whatif_count.py)."""
    low = ir_of(plan)
    hit = _CALLS.get(id(low))
    if hit is None or hit[0] is not low:
        found = {}
        for d in low.definitions.values():
            for call in find_nodes(d.node, lambda n: isinstance(n, ir.Call) and n.func in KINDS and n.args):
                found[(call.span.line, call.span.column)] = call
        if len(_CALLS) > 64:
            _CALLS.clear()
        hit = _CALLS[id(low)] = (low, found)
    return hit[1]


def per_row(plan, component: str, owner: str | None, call, ev, ctx):
    """The money the component pays per row counted: the other factor of a product of the
    count (`150 EUR * created`, `created * bonus_per_lead`) that is a term of the component's
    amount (added, or subtracted: then negative); None otherwise."""
    d = ir_of(plan).definitions.get(component)
    if d is None:
        return None

    def is_count(n) -> bool:
        return n is call if owner in (None, component) else (isinstance(n, ir.Name) and n.ref == ("def", owner))

    def walk(n, sign):
        if isinstance(n, ir.BinOp) and n.op in ("+", "-"):
            return walk(n.left, sign) or walk(n.right, -sign if n.op == "-" else sign)
        if isinstance(n, ir.BinOp) and n.op == "*":
            for a, b in ((n.left, n.right), (n.right, n.left)):
                if is_count(a) and not find_nodes(b, is_count):
                    try:
                        v = ev.ev(b, ctx, ())
                    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
                        return None
                    return Money(sign * v.amount, v.currency) if isinstance(v, Money) else None
        return None
    root = d.node
    return walk(root.expr if hasattr(root, "expr") else root, 1)
