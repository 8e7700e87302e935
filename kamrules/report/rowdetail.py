"""What each row an aggregation credits to a payee is made of (issue 16, item 4: "date,
account, amount, credit, rate or colour, contribution"), for the statement's tables of rows.

An aggregation whose value per row is not just a column of the row (`sum(round(amount *
colour_rate(discount), cent, half_up) for won ...)`, `sum(deals[deal_id].amount * share *
commission_rate for my_lines)`) gets beside each row:

- the row's values its expression reads: its own columns (`amount`, a split line's
  `share`) and the values it looks up by key (`deals[deal_id].amount`), each labelled as
  the plan writes it; text columns (ids) and the columns a decision table reads are left
  to the row id and the table;
- for each decision table the expression reads per row, the table's row that data row
  matched, in words: its comment in the plan (`| >= 20% | 1% |  # red`: `red`), each of the
  table's declared columns with the row's value (`discount 12%`) and the value read;
- for each currency conversion (`fx(amount, "EUR", close_date)`), the row's currency, the
  rate used and the day it is dated (the latest `fx_rates` row on or before the row's day,
  as the interpreter reads it, checked against the converted amount the engine gives) and
  the converted amount; a row in the target currency has no rate (the columns stay empty);
- for each cap or floor of the row's credit (`min(amount * charter_rate, charter_cap)`), the
  limit on the rows it applied to (`capped at €3,000.00`: 3% of 150,000 is 4,500).

The run's trace says which table row each data row matched (the interpreter's why-note
`colour_rate row 3`); the values shown are read from the data row, or evaluated once more
on it (a key lookup, a table's cell), never guessed. What to show per aggregation is worked
out once per plan (`layout`); a plan whose sums are sums of a column (a measure) costs a
dictionary look-up per aggregation.
"""
from __future__ import annotations

import re

import attrs

from kamrules.backends.interp.arith import Problem
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.core.numeric import Money
from kamrules.report.derivation import is_limit
from kamrules.report.words import find_nodes
from kamrules.trace.tree import span_text


@attrs.frozen
class Lookup:
    """The row of decision table `table` one data row matched."""
    table: str
    comment: str | None  # the row's comment in the plan (`orange`), None when it has none
    keys: tuple  # ((declared column, value, unit), ...)
    value: object
    unit: str | None  # the table's output kind ("rate", "money", ...)


@attrs.frozen
class Layout:
    """What one aggregation shows beside each row it credits."""
    columns: tuple  # ((label, node, unit), ...): the row's values the expression reads
    decisions: tuple  # ((table name, its call in the expression), ...)
    call: object = None  # the sum's call (report/leftout.py: the rows its own `where` leaves out)
    sign: int = 1  # -1 for a sum its definition takes off (`... - sum(amount * rate for reversed)`)
    fx: tuple = ()  # the fx() calls of the expression, in source order
    limits: tuple = ()  # ((min or max call, index of its limit: a param or a literal), ...) per row


@attrs.frozen
class Converted:
    """A row's amount converted by one fx() call: its currency, the rate and the day of the
    `fx_rates` row used (None when the row is in the target currency), the converted amount."""
    currency: str | None
    rate: object
    day: object
    value: object


FX_COLUMNS = (("currency", "text"), ("FX rate", "number"), ("rate date", "date"), ("converted", "money"))

_LAYOUTS: dict = {}  # id(lowered plan) -> (plan, {(line, column) of an aggregation: Layout})
_COMMENT = re.compile(r"\|[^|#]*#\s*(.+?)\s*$")


def other_sums(plan) -> bool:
    """Whether the plan has a sum over rows of anything but a column (`sum(amount * rate for
    ...)`): else every sum is a measure and nothing here applies."""
    layout(plan, None)
    return _LAYOUTS[id(ir_of(plan))][2]


def layout(plan, span) -> Layout | None:
    """The Layout of the sum written at `span` (an aggregate node's span); None when that is
    no sum over rows (`one(target for targets ...)` reads a row, it credits none)."""
    low = ir_of(plan)
    hit = _LAYOUTS.get(id(low))
    if hit is None or hit[0] is not low:
        found = {}
        for d in low.definitions.values():
            for call in find_nodes(d.node, lambda n: isinstance(n, ir.Call) and n.func == "sum" and n.args
                                   and isinstance(n.args[0], ir.Each)):
                found[(call.span.line, call.span.column)] = attrs.evolve(
                    _layout(low, plan.source, call.args[0].expr), call=call, sign=_sign(d.node, call),
                    limits=_limits(plan, call.args[0].expr))
        if len(_LAYOUTS) > 64:
            _LAYOUTS.clear()
        others = any(not isinstance(x.call.args[0].expr, ir.Name) for x in found.values())
        hit = _LAYOUTS[id(low)] = (low, found, others)
    return hit[1].get((span.line, span.column)) if span is not None else None


def _sign(root, call) -> int:
    """-1 when `call` counts negatively in the expression `root` defines (the right side of a
    `-`, under a unary minus: a clawback's `sum(... for reversed)`), else 1: each row the sum
    credits then takes its credit off the payout, and the statement says so."""
    def walk(n, s):
        if n is call:
            return s
        if isinstance(n, ir.BinOp) and n.op == "-":
            return walk(n.left, s) or walk(n.right, -s)
        if isinstance(n, ir.Neg):
            return walk(n.expr, -s)
        if isinstance(n, ir.BinOp) and n.op not in ("+",):  # a product, a ratio: not a plain term
            return None if not find_nodes(n, lambda x: x is call) else 1
        if attrs.has(type(n)):
            for f in attrs.fields(type(n)):
                v = getattr(n, f.name)
                for x in (v if isinstance(v, tuple) else (v,)):
                    if attrs.has(type(x)) and (got := walk(x, s)) is not None:
                        return got
        return None
    return walk(root, 1) or 1


_SCALED = ("*", "/")  # a term times a rate or divided by a count still credits its rows


def plain_term(plan, component: str, owner: str | None, span) -> bool:
    """Whether the sum written at `span`, held by the let `owner` (None: in the component
    itself), is a term of the component's amount (`commission = earned`, `colour_bonus =
    sum(...)`, `... - sum(... for reversed)`, maybe scaled or rounded): its rows are then
    credited (or taken back). Under a max, a min or a condition (`draw = max(0 EUR,
    monthly_draw - earned)`) the rows are only read: the component does not credit them."""
    low = ir_of(plan)
    d = low.definitions.get(component)
    lay = layout(plan, span)
    if d is None or lay is None:
        return True
    if owner in (None, component):
        def target(n):
            return n is lay.call
    else:
        def target(n):
            return isinstance(n, ir.Name) and n.ref == ("def", owner)

    def walk(n) -> bool:
        if target(n):
            return True
        if isinstance(n, ir.BinOp) and n.op in ("+", "-", *_SCALED):
            return walk(n.left) or walk(n.right)
        if isinstance(n, ir.Neg):
            return walk(n.expr)
        if isinstance(n, ir.Call) and n.func == "round" and n.args:
            return walk(n.args[0])
        return False
    root = d.node
    return walk(root.expr if hasattr(root, "expr") else root)


def _layout(low, source, expr) -> Layout:
    if isinstance(expr, (ir.Name, ir.Attr)):  # a measure: the row's credit is that column
        return Layout((), ())
    fx = tuple(find_nodes(expr, lambda n: isinstance(n, ir.Call) and n.func == "fx" and len(n.args) == 3))
    decisions, keyed = [], set()
    for call in find_nodes(expr, lambda n: isinstance(n, ir.Call) and n.decision is not None):
        d = low.definitions.get(call.decision)
        dec = d.node if d is not None else None
        if not isinstance(dec, ir.Decision) or dec.hit == "marginal" or call.decision in dict(decisions):
            continue
        decisions.append((call.decision, call))
        keyed |= {a.ref[3] for a in call.args if isinstance(a, ir.Name) and a.ref and a.ref[0] == "column"}
    columns, seen = [], set()
    refs = find_nodes(expr, lambda n: isinstance(n, ir.Name) and n.ref and n.ref[0] == "column")
    if any(n.ref[1] != 0 for n in refs):  # a column of an enclosing row: not this row's alone
        return Layout((), (), fx=fx)
    for n in find_nodes(expr, lambda n: (isinstance(n, ir.Name) and n.ref and n.ref[0] == "column")
                        or (isinstance(n, ir.Attr) and isinstance(n.obj, ir.Index))):
        kind = n.type.kind if n.type is not None else None
        label = n.ref[3] if isinstance(n, ir.Name) else span_text(source, n.span)
        if kind in (None, "text", "bool") or label in seen or (isinstance(n, ir.Name) and label in keyed):
            continue
        seen.add(label)
        columns.append((label, n, kind))
    return Layout(tuple(columns), tuple(decisions), fx=fx)


def _limits(plan, expr) -> tuple:
    """The two-argument min and max of a per-row expression with one side a limit (a param, a
    literal) and the other reading the row: (call, index of the limit)."""
    out = []
    for call in find_nodes(expr, lambda n: isinstance(n, ir.Call) and n.func in ("min", "max") and len(n.args) == 2):
        sides = [is_limit(plan, a) for a in call.args]
        if sides.count(True) == 1 and find_nodes(call.args[sides.index(False)], lambda n: isinstance(n, ir.Name)
                                                 and n.ref and n.ref[0] == "column"):
            out.append((call, sides.index(True)))
    return tuple(out)


LIMIT_LABELS = {"min": "capped at", "max": "floored at"}


def limited(ev, ctx, call, k: int, row):
    """The limit of a cap (min) or floor (max) when it applied to the row (it kept the limit, not
    the row's own value: 3% of 150,000 is 4,500, capped at 3,000), else None."""
    try:
        own, limit = ev.ev(call.args[1 - k], ctx, (row,)), ev.ev(call.args[k], ctx, (row,))
        a, b = (x.amount if isinstance(x, Money) else x for x in (own, limit))
        if a is None or b is None or a == b:
            return None
        return limit if (b < a) == (call.func == "min") else None
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return None


def converted(ev, ctx, call, row) -> Converted | None:
    """The conversion fx() call `call` makes of one data row (Converted), None when it cannot
    be evaluated. The rate is the one the interpreter reads (backends/interp/calls.py: the
    latest `fx_rates` row from the row's currency to the target on or before the day), kept
    only when the amount times it is the converted amount the engine gives."""
    try:
        amount, value = ev.ev(call.args[0], ctx, (row,)), ev.ev(call, ctx, (row,))
        day = ev.ev(call.args[2], ctx, (row,))
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return None
    if not isinstance(amount, Money) or not isinstance(value, Money):
        return None
    target = call.args[1].value if isinstance(call.args[1], ir.String) else ev.pay_codes.get(ctx.payee.id)
    if target and value.currency != target:  # fx(x, payee.pay_currency, day): the payee's own code
        value = Money(value.amount, target)
    if amount.currency in (target, value.currency) or "fx_rates" not in ev.tables:
        return Converted(amount.currency, None, None, value)
    best = None
    for r in ev.tables["fx_rates"].index("from").get(amount.currency, ()):
        d = r.values.get("date")
        if r.values.get("to") == target and d is not None and d <= day \
                and (best is None or d > best.values["date"]):
            best = r
    if best is None or amount.amount * best.values["rate"] != value.amount:
        return Converted(amount.currency, None, None, value)
    return Converted(amount.currency, best.values["rate"], best.values["date"], value)


def details(plan, lay: Layout, ev, ctx, row, why: tuple) -> tuple:
    """(the row's values, [Lookup]) of one data row credited by an aggregation of Layout lay;
    a value that cannot be read is None (its conversions: `converted`)."""
    values = tuple(_value(ev, ctx, node, row) for _, node, _ in lay.columns)
    if not lay.decisions or not why:
        return values, ()
    found = []
    for name, call in lay.decisions:
        k = _matched(why, name)
        if k is None:
            continue
        dec = ev.plan.definitions[name].node
        keys = tuple((p, _value(ev, ctx, a, row), t.kind if t is not None else None)
                     for (p, t), a in zip(dec.params, call.args))
        params = {p: v for p, v, _ in keys}
        try:
            value = ev.ev(dec.rows[k - 1].output, ctx, (params,))
        except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
            value = None
        d = plan.definitions.get(name)
        kind = d.type.kind if d is not None and d.type is not None else None
        m = _COMMENT.search(plan.source.line_text(dec.rows[k - 1].span.line))
        found.append(Lookup(name, m.group(1) if m else None, keys, value, kind))
    return values, tuple(found)


def _matched(why: tuple, name: str) -> int | None:
    """The table row of `name` a why-note says the data row matched (`colour_rate row 3`)."""
    head = name + " row "
    for note in why:
        if note.startswith(head) and note[len(head):].isdigit():
            return int(note[len(head):])
    return None


def _value(ev, ctx, node, row):
    if isinstance(node, ir.Name) and node.ref and node.ref[0] == "column":
        return row.values.get(node.ref[3])
    try:
        return ev.ev(node, ctx, (row,))
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return None
