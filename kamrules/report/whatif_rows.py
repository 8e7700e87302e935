"""What-ifs of sums of per-row formulas, in the words of the row (issue 16, item 6).

report/whatif.py makes a sum of a per-row formula of one money column a measure of that
column (`sum(round(amount * colour_rate(discount), cent, half_up) for won ...)` is the
business `amount` of the rows it credits) and re-runs the plan with X more on its largest
credited row. Here:

- `like`: that row in words (the decision table's row it matched, `yellow, discount 7%,
  rate 4%`, else the other values its formula reads, `margin 28%`), so that "X more business
  on a row like eq-dl-002 (yellow, ...)" says which kind of row the X is on;
- `hints`: the next tier of a decision the formula reads per row: for each credited row whose
  decision table has a neighbouring row giving more, the value of the row's column nearest
  to its own that lies in that table row (`RowHint`), checked by evaluating the decision on
  it (an exclusive bound `< 10%` is reached one unit of the precision the row's value is
  written with inside: 9% for a discount of 12%); `ask` is the search (report/whatif.py's
  protocol: a generator yielding the change, sent the re-run's Outcome) that says what the
  row would have paid, re-run by the engine, the interpreter's (`effects`) or the columnar
  batch's.

Only the few best hints of a component are shown (`best`: largest gain first).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.backends.interp.arith import Problem
from kamrules.core import ir
from kamrules.core.numeric import Money
from kamrules.data.strict import Row
from kamrules.report import rowdetail, whatif
from kamrules.report.curves import decide_at

MAX_HINTS = 3  # the hints a component shows, largest gain first
_ERRORS = (Problem, LookupError, TypeError, ArithmeticError, AttributeError)


@attrs.define
class RowHint:
    """What one credited row would have paid with its column `column` at `new` instead of
    `old`: the decision's better table row (`lookup`, in words); `step` the unit the value is
    inside an exclusive bound `bound` by (None when the bound is inclusive: `new` is it)."""
    measure: object  # the pseudo-measure re-run: whatif.Measure of that row and column
    row: str
    column: str
    unit: str | None  # the column's kind ("rate", "number")
    old: Decimal
    new: Decimal
    bound: Decimal
    step: Decimal | None
    lookup: rowdetail.Lookup
    gain: Decimal = Decimal(0)


def like(plan, m, row_at, ev, ctx) -> tuple:
    """(row id, [(label, value, unit)], [rowdetail.Lookup]) of the row a formula measure's
    what-if changes: the decision table rows it matched, else the values its formula reads
    besides the measure's column; () for a measure of a column, or a formula reading nothing
    else of the row (its rate is the same on every row)."""
    if not m.formula or m.call is None:
        return ()
    lay = rowdetail.layout(plan, m.call.span)
    if lay is None:
        return ()
    ref = whatif.target_row(m)
    try:
        values, lookups = rowdetail.details(plan, lay, ev, ctx, row_at(ref.table, ref.row), ref.why)
    except _ERRORS:
        return ()
    shown = [(label, v, unit) for (label, _, unit), v in zip(lay.columns, values)
             if label != m.column and unit not in ("money", "date") and v is not None]
    if lookups:  # the table row says it (its columns are the row's values read)
        shown = []
    return (ref.id, shown, list(lookups)) if shown or lookups else ()


def places(v: Decimal) -> int:
    """The decimals a value is written with (0.12: 2; 0.1: 1; 5: 0)."""
    return max(0, -v.as_tuple().exponent) if v.is_finite() else 0


def hints(plan, m, row_at, ev, ctx, rows: int) -> list:
    """[RowHint] (gain not known yet) of the first `rows` credited rows of a formula measure:
    for each decision its formula reads on a column of the row, each neighbouring table row
    that gives more than the one matched, at the value of that column nearest to the row's."""
    if not m.formula or m.call is None:
        return []
    lay = rowdetail.layout(plan, m.call.span)
    if lay is None or not lay.decisions:
        return []
    out = []
    for ref in m.rows[:rows]:
        row = row_at(ref.table, ref.row)
        try:
            _, lookups = rowdetail.details(plan, lay, ev, ctx, row, ref.why)
        except _ERRORS:
            continue
        for (name, call), here in ((dc, next((x for x in lookups if x.table == dc[0]), None)) for dc in lay.decisions):
            if here is not None:
                out += _row_hints(plan, m, lay, ev, ctx, ref, row, name, call, here)
    return out


def _row_hints(plan, m, lay, ev, ctx, ref, row, name, call, here) -> list:
    dec = ev.plan.definitions[name].node
    if dec.hit not in ("unique", "first"):
        return []
    args = [v for _, v, _ in here.keys]
    try:
        now = decide_at(ev, plan.definitions[name], args, ctx)
    except _ERRORS:
        return []
    if now is None or not now[1]:
        return []
    k, out = now[1][0], []
    for i, a in enumerate(call.args):
        if not (isinstance(a, ir.Name) and a.ref and a.ref[0] == "column" and a.ref[1] == 0):
            continue
        column, x = a.ref[3], args[i]
        if not isinstance(x, Decimal) or isinstance(x, Money):
            continue
        for j in (k - 1, k + 1):
            if not 1 <= j <= len(dec.rows):
                continue
            got = _nearest(ev, ctx, dec, dec.rows[j - 1].cells[i], x, args)
            if got is None:
                continue
            v, bound, step = got
            moved = list(args)
            moved[i] = v
            try:
                there = decide_at(ev, plan.definitions[name], moved, ctx)
            except _ERRORS:
                continue
            if there is None or not there[1] or there[1][0] != j or not _more(there[0], now[0]):
                continue
            new_row = Row(row.table, row.number, row.id, {**row.values, column: v})
            try:
                _, found = rowdetail.details(plan, lay, ev, ctx, new_row, (f"{name} row {j}",))
            except _ERRORS:
                continue
            look = next((x for x in found if x.table == name), None)
            if look is None:
                continue
            pm = whatif.Measure(m.name, ref.table, column, m.value, [ref], None, target=ref)
            out.append(RowHint(pm, ref.id, column, a.type.kind if a.type is not None else None, x, v, bound, step,
                               look))
    return out


def _more(a, b) -> bool:
    a, b = (v.amount if isinstance(v, Money) else v for v in (a, b))
    return isinstance(a, Decimal) and isinstance(b, Decimal) and a > b


def _nearest(ev, ctx, dec, cell, x: Decimal, args):
    """(the value of the cell's range nearest to x, the bound it is at or inside, the unit it
    is inside by when the bound is exclusive, else None); None when none is found. The unit
    is one of the finer of the precisions x and the bound are written with (x 12%, bound 10%:
    1%, so 9%): the row's own data, so the same whichever rows are loaded with it."""
    if cell.kind not in ("cmp", "range"):
        return None
    inner = ({p: v for (p, _), v in zip(dec.params, args)},)
    try:
        lo = ev.ev(cell.lo, ctx, inner)
        hi = ev.ev(cell.hi, ctx, inner) if cell.kind == "range" else None
    except _ERRORS:
        return None
    if not isinstance(lo, Decimal) or (hi is not None and not isinstance(hi, Decimal)):
        return None
    unit = Decimal(1).scaleb(-max(places(x), *(places(b) for b in (lo, hi) if b is not None)))
    if cell.kind == "cmp":
        if cell.op in ("<", "<=") and x >= lo:
            return (lo - unit, lo, unit) if cell.op == "<" else (lo, lo, None)
        if cell.op in (">", ">=") and x <= lo:
            return (lo + unit, lo, unit) if cell.op == ">" else (lo, lo, None)
        return None
    if x < lo:
        return lo, lo, None
    if x >= hi:
        return (hi - unit, hi, unit) if cell.op == "<" else (hi, hi, None) if x > hi else None
    return None


def ask(hint: RowHint, component: str, now):
    """The search of one hint (whatif.search's protocol): the change re-run, then [hint]
    with its gain on `component` (paid `now` today), [] when the plan fails on it."""
    o = yield hint.new - hint.old
    if o is None:
        return []
    hint.gain = o.amounts.get(component, Decimal(0)) - now
    return [hint]


def effects(w, payout, found: list) -> list:
    """The hints that pay more, each re-run by the interpreter for this payee (WhatIf)."""
    out = []
    for h in found:
        out += whatif.drive(ask(h, payout.component, payout.amount), lambda delta, h=h: w.outcome(h.measure, delta, ()))
    return [h for h in out if h.gain > 0]


def best(found: list) -> list:
    """The hints a component shows: the largest gains first, at most MAX_HINTS, one per row."""
    out, rows = [], set()
    for h in sorted(found, key=lambda h: (-h.gain, h.row, h.column, h.new)):
        if h.row not in rows:
            rows.add(h.row)
            out.append(h)
    return out[:MAX_HINTS]
