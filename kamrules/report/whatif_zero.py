"""What-ifs for a measure that credits the payee no row in the period (a KAM at zero: no won
expansion this quarter), the payee who needs them most.

report/whatif.py changes one credited row of a measure; with none, there is nothing to
change. Here the measure (`zero_measures`: a `sum(column for rows ...)` of money in the
component's trace, over no row) is given one row of its input that its filters select for
this payee and period, carrying 0 of the summed column (`phantom`): a copy of a row of the
table (the payee's own first) with each link and each `column == value` condition of the
filters set to what they ask (`owner_id == payee.id`, `status == "won"`, `type ==
"expansion"`, a close date in the period on which an account is assigned to the payee, a
key no row has). The plan is re-run through the engine with that row added: at 0 it must
pay what the run paid (else the row changes something else, a count of deals: no what-if),
and one unit more on it must add one unit to the measure (else the filters do not select
it: no what-if). Then the same search as for a credited row (whatif.search) says what X
more pays, never a linear guess.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from kamrules.backends.interp.arith import Problem
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.core.numeric import Money
from kamrules.data.strict import Row
from kamrules.report import whatif
from kamrules.report.leftout import base_where
from kamrules.trace.tree import RowRef

_ERRORS = (Problem, LookupError, TypeError, ArithmeticError, AttributeError, ValueError)


def zero_measures(plan, trace, tables) -> list:
    """[whatif.Measure] of the money sums of a column over input rows in a component's trace
    that credit no row (rows empty), each once, named by the let that holds it."""
    sums = whatif.sum_columns(plan)
    out = []
    for node, owner in whatif.money_aggregates(trace):
        if node.rows or owner is None:
            continue
        column, call = sums.get((node.span.line, node.span.column), (None, None))
        where = base_where(plan, call) if call is not None else None
        table = where.source.id if where is not None else None
        if column and table in tables and column in tables[table].spec.columns and owner not in {m.name for m in out}:
            out.append(whatif.Measure(owner, table, column, node.value, [], call))
    return out


def filters_of(plan, call) -> list:
    """The Filters of every `where` between the sum and its input table (following lets)."""
    arg = call.args[0] if call.args else None
    node = arg.source if isinstance(arg, ir.Each) else arg  # `sum(x for rows)`, `count(rows)`
    lowered, out = ir_of(plan), []
    for _ in range(8):
        if isinstance(node, ir.Where):
            if node.filter is not None:
                out.append(node.filter)
            if isinstance(node.source, ir.Name) and node.source.ref == ("table", node.source.id):
                return out
            node = node.source
        elif isinstance(node, ir.Name) and node.ref and node.ref[0] == "def" \
                and lowered.definitions[node.ref[1]].kind == "let":
            node = lowered.definitions[node.ref[1]].node.expr
        else:
            return []
    return []


def _column(e):
    """The column a condition's side names on the filtered row, or None."""
    if isinstance(e, ir.Name) and e.ref and e.ref[0] == "column" and e.ref[1] == 0:
        return e.ref[3]
    return None


def links(plan, m) -> list:
    """The columns of m's rows that its filters tie to the payee (`owner_id == payee.id`)."""
    return [c for f in filters_of(plan, m.call) for c, e in f.eq if whatif_is_payee(e)]


def phantom(plan, tables, m, ev, ctx, template=None) -> tuple | None:
    """(row, scale): a row of m's table the measure's filters select for ctx's payee and
    period, carrying 0 of the summed column (a count: no column), and the amount of the row it
    copies (the what-if's first step is 1% of it); None when one cannot be made (checked by
    the caller's re-runs). template: the row copied (default: the payee's own first)."""
    table = tables[m.table]
    filters = filters_of(plan, m.call)
    if not table.rows or not filters:
        return None
    period, pid = ctx.period, ctx.payee.id
    if template is None:
        template = next(iter(own_rows(table, links(plan, m), pid)), table.rows[0])
    values = dict(template.values)
    day = period.end
    try:
        for f in filters:
            for col, role_expr, who in f.assigned:
                if not isinstance(col, str) or not whatif_is_payee(who) or "assignments" not in tables:
                    return None
                found = _assigned(tables["assignments"], pid, ev.ev(role_expr, ctx, ()), period)
                if found is None:
                    return None
                values[col], day = found
        for f in filters:
            for c, e in f.eq:
                values[c] = ev.ev(e, ctx, ())
            for c, e in f.in_period:
                p = ev.ev(e, ctx, ())
                values[c] = day if p.start <= day <= p.end else p.end
            for cond in f.rest:
                if isinstance(cond, ir.BinOp) and cond.op == "==":
                    for side, other in ((cond.left, cond.right), (cond.right, cond.left)):
                        col = _column(side)
                        if col is not None and _column(other) is None:
                            values[col] = ev.ev(other, ctx, ())
                            break
    except _ERRORS:
        return None
    old = template.values.get(m.column) if m.column is not None else None
    if m.column is not None:
        values[m.column] = Money(Decimal(0), old.currency if isinstance(old, Money) else m.value.currency)
    key = table.spec.key
    ident = template.id
    if key is not None:
        taken = table.by_key()  # built once per table, not per payee
        ident = next(f"what-if-{n}" for n in range(len(taken) + 1) if f"what-if-{n}" not in taken)
        values[key] = ident
    scale = abs(old.amount) if isinstance(old, Money) else None
    return Row(template.table, _last_number(table) + 1, ident, values), scale


_LAST: dict = {}


def _last_number(table) -> int:
    """The largest row number of a table, found once per table."""
    hit = _LAST.get(id(table))
    if hit is None or hit[0] is not table:
        if len(_LAST) > 64:
            _LAST.clear()
        hit = _LAST[id(table)] = (table, max(r.number for r in table.rows))
    return hit[1]


def own_rows(table, tied: list, pid) -> list:
    """The rows of a table whose link columns `tied` hold the payee's id, in table order (by
    the table's index of each column, built once)."""
    if len(tied) == 1:
        return list(table.index(tied[0]).get(pid, ()))
    found = {id(r): r for c in tied for r in table.index(c).get(pid, ())}
    return sorted(found.values(), key=lambda r: r.number)


def whatif_is_payee(e) -> bool:
    return isinstance(e, ir.Attr) and e.name == "id" and isinstance(e.obj, ir.Name) and e.obj.id == "payee"


def _assigned(assignments, pid, role, period):
    """(account, day): an account assigned to the payee in `role` during the period, and the
    latest day of the period it is assigned (the what-if's business closes by then)."""
    best = None
    for r in assignments.rows:
        v = r.values
        if v.get("payee_id") != pid or v.get("role") not in (role, None):
            continue
        start, end = v.get("start_date"), v.get("end_date")
        last = min(end, period.end) if isinstance(end, dt.date) else period.end
        if isinstance(start, dt.date) and start > last or last < period.start:
            continue
        if best is None or last > best[1]:
            best = (v.get("account_id"), last)
    return best


def effects(plan, full, tables, payee, period, payout, m, tiers_, ev) -> list:
    """What X more of measure m, which credits no row, pays on payout's component: the search
    of whatif.py on a phantom row (made from the `full` tables, so that `statement --all`,
    which re-runs on the payee's own rows, asks what `--payee` asks), each amount re-run by
    the interpreter on `tables`; [] when no row can be made that the filters select and that
    changes nothing at 0."""
    ctx = ev.context(payee, period)
    made = phantom(plan, full, m, ev, ctx)
    if made is None:
        return []
    row, scale = made
    t = dict(tables)
    t[m.table] = whatif.ChangedTable(tables[m.table], [], added=[row])
    base_at = whatif.WhatIf(plan, full, payee, period).row_at

    def row_at(table, number):
        return row if (table, number) == (m.table, row.number) else base_at(table, number)

    w = whatif.WhatIf(plan, t, payee, period, row_at=row_at)
    at_zero = w.run()
    if at_zero is None or next((p.amount for p in at_zero if p.component == payout.component), None) != payout.amount:
        return []
    m = attrs.evolve(m, target=RowRef(m.table, row.number, row.id, row.values[m.column]), scale=scale)
    one = w.outcome(m, Decimal(1), {m.name})
    base = m.value.amount
    if one is None or one.values.get(m.name) != base + 1:
        return []
    return whatif.effects(w, payout, m, tiers_)
