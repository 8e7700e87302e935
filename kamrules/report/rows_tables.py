"""The statement's tables of rows (issue 16, item 4): for each aggregation behind a component,
the rows it credits (date, account, row, the values the credit is made of, the decision
table's row matched, the currency conversion, the credit), and the rows of the payee it
leaves out, with the reason (report/leftout.py).

A measure (a sum of a column) shows the column; a sum of a per-row formula shows what each
row's credit is made of (report/rowdetail.py); a count shows each row counted and what one
row pays when the component pays a fixed amount per row (report/rows_counted.py). The
statement (report/statement.py) calls `credited`, `other_rows`, `left_out` and
`left_inside`; the renderers read the `Credited` tables.
"""
from __future__ import annotations

import attrs

from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.core.numeric import Money
from kamrules.backends.interp.arith import Problem
from kamrules.report import leftout, rowdetail, rows_counted, whatif
from kamrules.report.words import find_nodes

MAX_ROWS = 25


@attrs.define
class Credited:
    """The rows an aggregation credits to the payee: a measure (a sum of a column over input
    rows), or any other money aggregation over rows, each row then with what its credit is
    made of (report/rowdetail.py: the values read, the decision table's row matched, the
    conversion, the cap); or the rows a count counts, a min, max or avg reads."""
    measure: str  # the measure's let, else the let or component holding the aggregation
    table: str
    total: Money
    rows: list  # [(date or None, account or None, row id, contribution, values, lookups)]
    more: int = 0
    columns: tuple = ()  # ((label, unit), ...) of each row's values
    tables: tuple = ()  # the decision tables each row may have matched, by name
    is_measure: bool = True
    keys: frozenset = frozenset()  # (table, row number) of every row credited, MAX_ROWS or not
    layout: object = None  # rowdetail.Layout of a sum that is not a measure
    taken_back: bool = False  # the sum is taken off the payout (a clawback): rows and total negated
    plain: bool = True  # a term of the component's amount: its rows are credited, not only read (a draw's)
    kind: str = "sum"  # the aggregation: "sum", or "count", "min", "max", "avg" (report/rows_counted.py)
    each: object = None  # a count's pay per row counted (`150 EUR * created`), None when not a fixed amount

def left_out(sh, view, ev, ctx):
    """The rows of the payee left out of the filters behind the component's measures."""
    seen = set()
    for m in view.measures:
        where = leftout.base_where(sh.plan, m.call) if m.call is not None and not m.formula else None
        if where is None or id(where) in seen:
            continue
        seen.add(id(where))
        rows = leftout.left_out(sh.plan, ev, ctx, sh.tables, where)
        if rows:
            # named by the let that filters, else by the measure (`billed_quarter`, not `invoices`)
            name = next((n for n, d in ir_of(sh.plan).definitions.items() if d.kind == "let" and d.node.expr is where),
                        m.name)
            when, _, account_col = dating(sh, m.call, where.source.id)
            view.left_out.append((name, [(read(when, r, ev, ctx), r.values.get(account_col) if account_col else None,
                                          r.id, r.values.get(m.column), why) for r, why in rows]))


def columns_of(spec) -> tuple:
    """(date column, account column) of an input, for the tables of rows."""
    date_col = next((c for c, s in spec.columns.items() if s.type.kind == "date" and "date" in c), None) \
        or next((c for c, s in spec.columns.items() if s.type.kind == "date"), None)
    return date_col, "account_id" if "account_id" in spec.columns else None


def dating(sh, call, table: str) -> tuple:
    """(the row's date: a column or an expression, the table's own date column when it is
    another one, the account column) of the rows of aggregation `call`: the date that puts a
    row in the period (leftout.period_date: a clawback's `cancel_date`, a split line's
    `deals[deal_id].close_date`), else the table's date column (columns_of)."""
    spec = sh.tables[table].spec
    date_col, account_col = columns_of(spec)
    when = leftout.period_date(sh.plan, call, spec.columns) if call is not None else None
    if when is None:
        return date_col, None, account_col
    return when, date_col if date_col not in (None, when) else None, account_col


def read(when, row, ev=None, ctx=None):
    """A row's value of a column (a name) or an expression (`deals[deal_id].close_date`: a date
    as `dating` says, an amount), evaluated on the row; None when it cannot be read."""
    if when is None or isinstance(when, str):
        return row.values.get(when) if when else None
    if isinstance(when, ir.Name) and when.ref and when.ref[0] == "column":  # the row's own column
        return row.values.get(when.ref[3])
    if ev is None:
        return None
    try:
        return ev.ev(when, ctx, (row,))
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return None


def credited(sh, m, ev=None, ctx=None) -> Credited:
    """The table of the rows a measure (whatif.Measure: a sum of a column) credits, each dated
    by what puts it in the period (`dating`)."""
    when, other, account_col = dating(sh, m.call, m.table)
    rows = []
    for ref in m.rows[:MAX_ROWS]:
        r = sh.row_at(ref.table, ref.row)
        rows.append((read(when, r, ev, ctx), r.values.get(account_col) if account_col else None, ref.id,
                     ref.contribution, (r.values.get(other),) if other else (), ()))
    return Credited(m.name, m.table, m.value, rows, max(0, len(m.rows) - MAX_ROWS),
                    ((other, "date"),) if other else (), keys=frozenset((ref.table, ref.row) for ref in m.rows))


def other_rows(sh, view, trace, ms: list, ev, ctx):
    """A table of rows for each money aggregation over input rows that is not a measure
    (`sum(round(amount * colour_rate(discount), cent, half_up) for won ...)`), each row with
    the values its credit is made of and the decision table's row it matched."""
    _counts(sh, view, trace, ev, ctx)
    if not rowdetail.other_sums(sh.plan):  # every sum is of a column: the measures say it all
        return
    measured = {(m.call.span.line, m.call.span.column) for m in ms if m.call is not None and not m.formula}
    seen = set()
    for node, owner in whatif.money_aggregates(trace):
        if (node.span.line, node.span.column) in measured:
            continue
        refs = [r for r in node.rows if isinstance(r.contribution, Money) and r.table in sh.tables]
        key = (owner, node.span.line, node.span.column)
        lay = rowdetail.layout(sh.plan, node.span) if refs and key not in seen else None
        if lay is not None:
            seen.add(key)
            view.credited.append(_aggregate_rows(sh, owner or view.name, node, refs, lay, ev, ctx))
            view.credited[-1].plain = rowdetail.plain_term(sh.plan, view.name, owner, node.span)


def _counts(sh, view, trace, ev, ctx):
    """A table of rows for each count behind the component (report/rows_counted.py), each row
    with what one row counted pays when the component pays a fixed amount per row; made when
    a count of the component counts a row (its counts at zero are then said too: `+ 0 signed`).
    And the rows a min, max or avg reads, the kept one marked (`the largest ✓`)."""
    found = [(rows, value, owner, call, leftout.wheres(sh.plan, call))
             for rows, value, owner, call in rows_counted.counts(sh.plan, trace)]
    counted = any(rows for rows, _, _, call, _ in found if call.func == "count")
    for refs, value, owner, call, chain in found:
        src = chain[-1].source if chain else None
        table = refs[0].table if refs else src.id if isinstance(src, ir.Name) and src.ref == ("table", src.id) \
            else None
        if table not in sh.tables or not (counted if call.func == "count" else refs):
            continue
        each = rows_counted.per_row(sh.plan, view.name, owner, call, ev, ctx) if call.func == "count" else None
        kept = call.func in ("min", "max")
        when, other, account_col = dating(sh, call, table)
        rows = []
        for ref in refs[:MAX_ROWS]:
            r = sh.row_at(ref.table, ref.row)
            mark = ("✓" if ref.contribution == value else "",) if kept else ()
            rows.append((read(when, r, ev, ctx), r.values.get(account_col) if account_col else None, ref.id,
                         each if call.func == "count" else ref.contribution,
                         ((r.values.get(other),) if other else ()) + mark, ()))
        total = Money(len(refs) * each.amount, each.currency) if each is not None else value
        columns = ((other, "date"),) if other else ()
        columns += (({"min": "the smallest", "max": "the largest"}[call.func], "text"),) if kept else ()
        view.credited.append(Credited(owner or view.name, table, total, rows, max(0, len(refs) - MAX_ROWS), columns,
                                      (), False, frozenset((ref.table, ref.row) for ref in refs),
                                      rowdetail.Layout((), (), call=call), plain=call.func == "count",
                                      kind=call.func, each=each))


def _aggregate_rows(sh, name: str, node, refs: list, lay, ev, ctx) -> Credited:
    when, other, account_col = dating(sh, lay.call, refs[0].table)
    date_col = when if isinstance(when, str) else None
    rows, tables, conversions, capped = [], {}, [], []
    for ref in refs[:MAX_ROWS]:
        r = sh.row_at(ref.table, ref.row)
        values, lookups = rowdetail.details(sh.plan, lay, ev, ctx, r, ref.why) if lay.columns or lay.decisions \
            else ((), ())
        fx = tuple(rowdetail.converted(ev, ctx, call, r) for call in lay.fx)
        capped.append(tuple(rowdetail.limited(ev, ctx, call, k, r) for call, k in lay.limits))
        tables.update((x.table, None) for x in lookups)
        conversions.append(fx)
        rows.append((read(when, r, ev, ctx), r.values.get(account_col) if account_col else None, ref.id,
                     ref.contribution, values + ((r.values.get(other),) if other else ()),
                     {x.table: x for x in lookups}))
    order = tuple(t for t, _ in lay.decisions if t in tables)
    # the row's date is its own column already (`fx(..., close_date)` reads it: not twice)
    keep = [k for k, (label, _, _) in enumerate(lay.columns) if label not in (date_col, other)]
    if other:  # the table's own date beside the one that puts the row in the period (close and cancel)
        keep.append(len(lay.columns))
    # a conversion's columns when it converted a row: currency, rate, its day, converted amount
    rated = [k for k in range(len(lay.fx)) if any(fx[k] is not None and fx[k].rate is not None
                                                   for fx in conversions)]
    # a cap's or a floor's column when it applied to a row: the limit kept
    limits = [k for k in range(len(lay.limits)) if any(c[k] is not None for c in capped)]
    rows = [(*row[:4], tuple(row[4][k] for k in keep) + tuple(c[k] for k in limits) + _converted(fx, rated),
             tuple(row[5].get(t) for t in order)) for row, fx, c in zip(rows, conversions, capped)]
    total = node.value
    if lay.sign < 0:  # `- sum(amount * rate for reversed)`: each row counts against the payout
        rows = [(*row[:3], Money(-row[3].amount, row[3].currency), *row[4:]) for row in rows]
        total = Money(-total.amount, total.currency)
    labels = lay.columns + ((other, None, "date"),)
    return Credited(name, refs[0].table, total, rows, max(0, len(refs) - MAX_ROWS),
                    tuple((labels[k][0], labels[k][2]) for k in keep)
                    + tuple((rowdetail.LIMIT_LABELS[lay.limits[k][0].func], _kind(lay.limits[k][0].args[lay.limits[k][1]]))
                            for k in limits) + rowdetail.FX_COLUMNS * len(rated),
                    order, False, frozenset((ref.table, ref.row) for ref in refs), lay, lay.sign < 0)


def _kind(node) -> str | None:
    return node.type.kind if node.type is not None else None


def _converted(fx: tuple, rated: list) -> tuple:
    """The values of a row's conversion columns (rowdetail.FX_COLUMNS) for each fx() call kept."""
    out = ()
    for k in rated:
        c = fx[k] if k < len(fx) else None
        out += (None, None, None, None) if c is None else (c.currency, c.rate, c.day, c.value)
    return out


def left_inside(sh, comps: list, ev, ctx):
    """The rows a sum that is not a measure reads but its own `where` leaves out (`for won
    where present(margin) and margin >= margin_floor`: a won deal under the margin floor),
    unless another sum of the period credits them; and the rows a count leaves out."""
    inner = [(c, m) for c in comps for m in c.credited if not m.is_measure and m.layout is not None]
    if not inner:
        return
    taken, listed = set().union(*(m.keys for c in comps for m in c.credited)), set()
    for c, m in inner:
        rows = leftout.inner_left_out(sh.plan, ev, ctx, m.layout.call)
        where = leftout.base_where(sh.plan, m.layout.call)  # and the rows linked to the payee
        rows += leftout.left_out(sh.plan, ev, ctx, sh.tables, where) if where is not None else []
        # a row another aggregation of the period credits is left out of this one for a reason of
        # its own, unless its date is the reason (a lead created in the window, signed a day after)
        rows = [(r, why) for r, why in rows if (r.table, r.number, repr(why)) not in listed
                and ((r.table, r.number) not in taken or why[0] in leftout.DATED)]
        rows = sorted({(r.table, r.number): (r, why) for r, why in reversed(rows)}.values(),
                      key=lambda x: x[0].number)[:leftout.MAX_ROWS]
        if not rows:
            continue
        taken |= {(r.table, r.number) for r, _ in rows}
        listed |= {(r.table, r.number, repr(why)) for r, why in rows}  # a row left out for one reason: once
        when, _, account_col = dating(sh, m.layout.call, rows[0][0].table)
        money = _money_read(sh, m.layout, rows[0][0].table)
        c.left_out.append((m.measure, [(read(when, r, ev, ctx), r.values.get(account_col) if account_col else None,
                                        r.id, read(money, r, ev, ctx), why) for r, why in rows]))


def _money_read(sh, lay, table: str):
    """What a left-out row's amount is: the money value the sum reads per row (`amount`,
    `deals[deal_id].amount`), else the money column a decision table reads (`booster_rate(amount,
    ...)`), else the table's first money column; None for a table without money (leads counted)."""
    found = next((n for _, n, unit in lay.columns if unit == "money"), None)
    if found is not None:
        return found
    call = lay.call.args[0].expr if lay.call is not None and lay.call.args and isinstance(lay.call.args[0], ir.Each) \
        else None
    for n in find_nodes(call, lambda x: isinstance(x, ir.Name) and x.ref and x.ref[0] == "column") if call else ():
        if n.ref[1] == 0 and n.type is not None and n.type.kind == "money":
            return n
    return next((c for c, s in sh.tables[table].spec.columns.items() if s.type.kind == "money"), None)
