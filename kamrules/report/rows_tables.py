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
from kamrules.report import leftout, rowdetail, whatif

MAX_ROWS = 25


@attrs.define
class Credited:
    """The rows an aggregation credits to the payee: a measure (a sum of a column over input
    rows), or any other money aggregation over rows, each row then with what its credit is
    made of (report/rowdetail.py: the values read, the decision table's row matched)."""
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
            name = next((n for n, d in ir_of(sh.plan).definitions.items() if d.kind == "let" and d.node.expr is where),
                        where.source.id)
            date_col, account_col = columns_of(sh.tables[where.source.id].spec)
            view.left_out.append((name, [(r.values.get(date_col) if date_col else None,
                                          r.values.get(account_col) if account_col else None, r.id,
                                          r.values.get(m.column), why) for r, why in rows]))


def columns_of(spec) -> tuple:
    """(date column, account column) of an input, for the tables of rows."""
    date_col = next((c for c, s in spec.columns.items() if s.type.kind == "date" and "date" in c), None) \
        or next((c for c, s in spec.columns.items() if s.type.kind == "date"), None)
    return date_col, "account_id" if "account_id" in spec.columns else None


def credited(sh, m) -> Credited:
    date_col, account_col = columns_of(sh.tables[m.table].spec)
    rows = []
    for ref in m.rows[:MAX_ROWS]:
        r = sh.row_at(ref.table, ref.row)
        rows.append((r.values.get(date_col) if date_col else None,
                     r.values.get(account_col) if account_col else None, ref.id, ref.contribution, (), ()))
    return Credited(m.name, m.table, m.value, rows, max(0, len(m.rows) - MAX_ROWS),
                    keys=frozenset((ref.table, ref.row) for ref in m.rows))


def other_rows(sh, view, trace, ms: list, ev, ctx):
    """A table of rows for each money aggregation over input rows that is not a measure
    (`sum(round(amount * colour_rate(discount), cent, half_up) for won ...)`), each row with
    the values its credit is made of and the decision table's row it matched."""
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


def _aggregate_rows(sh, name: str, node, refs: list, lay, ev, ctx) -> Credited:
    date_col, account_col = columns_of(sh.tables[refs[0].table].spec)
    rows, tables = [], {}
    for ref in refs[:MAX_ROWS]:
        r = sh.row_at(ref.table, ref.row)
        values, lookups = rowdetail.details(sh.plan, lay, ev, ctx, r, ref.why) if lay.columns or lay.decisions \
            else ((), ())
        tables.update((x.table, None) for x in lookups)
        rows.append((r.values.get(date_col) if date_col else None,
                     r.values.get(account_col) if account_col else None, ref.id, ref.contribution, values,
                     {x.table: x for x in lookups}))
    order = tuple(t for t, _ in lay.decisions if t in tables)
    # the row's date is its own column already (`fx(..., close_date)` reads it: not twice)
    keep = [k for k, (label, _, _) in enumerate(lay.columns) if label != date_col]
    rows = [(*row[:4], tuple(row[4][k] for k in keep), tuple(row[5].get(t) for t in order)) for row in rows]
    total = node.value
    if lay.sign < 0:  # `- sum(amount * rate for reversed)`: each row counts against the payout
        rows = [(*row[:3], Money(-row[3].amount, row[3].currency), *row[4:]) for row in rows]
        total = Money(-total.amount, total.currency)
    return Credited(name, refs[0].table, total, rows, max(0, len(refs) - MAX_ROWS),
                    tuple((lay.columns[k][0], lay.columns[k][2]) for k in keep), order, False,
                    frozenset((ref.table, ref.row) for ref in refs), lay, lay.sign < 0)


def left_inside(sh, comps: list, ev, ctx):
    """The rows a sum that is not a measure reads but its own `where` leaves out (`for won
    where present(margin) and margin >= margin_floor`: a won deal under the margin floor),
    unless another sum of the period credits them."""
    inner = [(c, m) for c in comps for m in c.credited if not m.is_measure and m.layout is not None]
    if not inner:
        return
    taken = set().union(*(m.keys for c in comps for m in c.credited))
    for c, m in inner:
        rows = leftout.inner_left_out(sh.plan, ev, ctx, m.layout.call)
        where = leftout.base_where(sh.plan, m.layout.call)  # and the rows linked to the payee
        rows += leftout.left_out(sh.plan, ev, ctx, sh.tables, where) if where is not None else []
        rows = [(r, why) for r, why in rows if (r.table, r.number) not in taken]
        rows = sorted({(r.table, r.number): (r, why) for r, why in reversed(rows)}.values(),
                      key=lambda x: x[0].number)[:leftout.MAX_ROWS]
        if not rows:
            continue
        taken |= {(r.table, r.number) for r, _ in rows}
        date_col, account_col = columns_of(sh.tables[rows[0][0].table].spec)
        money = next((n.ref[3] for _, n, unit in m.layout.columns if unit == "money" and isinstance(n, ir.Name)),
                     None)
        c.left_out.append((m.measure, [(r.values.get(date_col) if date_col else None,
                                        r.values.get(account_col) if account_col else None, r.id,
                                        r.values.get(money) if money else None, why) for r, why in rows]))

