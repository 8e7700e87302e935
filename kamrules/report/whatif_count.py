"""What-ifs of counts of rows (issue 16, item 6): "1 more row of leads in signed (product
emotion_ai) before June 30, 2025 would pay €300.00 more on emotion_ai_challenge".

A count (`let signed = count(my_leads where signed_date in period and ...)`) has no column to
add business to: its step is one row. Here a row its filters select for the payee and period
is made as report/whatif_zero.py makes one for a sum at zero (`phantom`: a copy of a row of
the table with each link and `column == value` of the filters set), and the plan is re-run
through the engine with it added (`prepare`): the count must be one more, and every let of
the component that does not read the count must keep its value (a copy of a lead created
in the quarter would also be one more `created`: that copy is not the what-if of `signed`;
the payee's next row is tried as the copy, up to MAX_TEMPLATES, then the table's first).
Then whatif.search asks what 1 more row pays, and for a count read by a curve the smallest number of rows that
reaches the next tier (`Added.copies`: N copies of the row, each its own key), every number
of rows a re-run: by the interpreter for one payee (`effects`), or by the columnar batch of
`statement --all` on clones (report/whatif_clones.py adds the copies to a clone's rows).
`sentence` says it in the statement's words.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.backends.interp.arith import Problem
from kamrules.core import ir
from kamrules.data.strict import Row
from kamrules.report import whatif, whatif_zero, words
from kamrules.report.leftout import base_where
from kamrules.report.rows_counted import calls_at
from kamrules.trace.tree import RowRef, owned_nodes

MAX_TEMPLATES = 4  # the rows tried as the copy, the payee's own first
MAX_ROWS = 10_000  # the most rows a what-if adds (the next tier further away: none offered)
_ERRORS = (Problem, LookupError, TypeError, ArithmeticError, AttributeError, ValueError)


@attrs.define
class Added:
    """The row a count's what-if adds (copies of it for N more rows), the row of the table it
    copies, the table's key column, and the filters' conditions it meets, in words
    ([(column, value)]: `product == "emotion_ai"`)."""
    row: Row
    template: Row
    key: str | None
    said: list

    def idents(self, n: int) -> list:
        """The keys of n copies: the row's (a key no row has), then `what-if-0.1`, ..."""
        return [self.row.id] + [f"{self.row.id}.{k}" for k in range(1, n)]

    @staticmethod
    def fits(n) -> bool:
        """Whether a what-if adds n rows (a whole number from 1 to MAX_ROWS)."""
        return n == int(n) and 1 <= n <= MAX_ROWS

    def copies(self, n: int) -> list | None:
        """n copies of the row, each its own key and row number; None beyond MAX_ROWS."""
        if not self.fits(n):
            return None
        n = int(n)
        r = self.row
        return [Row(r.table, r.number + i, ident, {**r.values, self.key: ident} if self.key else r.values)
                for i, ident in enumerate(self.idents(n))]


def count_calls(plan) -> dict:
    """(line, column) of each `count(rows)` of the plan -> the call."""
    return {at: c for at, c in calls_at(plan).items() if c.func == "count"}


def count_measures(plan, trace, tables) -> list:
    """[whatif.Measure] of the counts of input rows in a component's trace held by a let,
    each once, in trace order (column None, value the count)."""
    calls, out = calls_at(plan), []
    for node, owner in owned_nodes(trace):
        call = calls.get((node.span.line, node.span.column)) if node.kind == "aggregate" and node.span else None
        if call is not None and call.func == "count" and owner is not None and isinstance(node.value, Decimal) \
                and owner not in {m.name for m in out}:
            where = base_where(plan, call)
            if where is not None and where.source.id in tables:
                out.append(whatif.Measure(owner, where.source.id, None, node.value, [], call))
    return out


def _above(trace, name: str) -> set:
    """The lets of a traced payout that read the let `name` (directly or not), and it: each
    node asked once (a trace shares the nodes of a let read twice)."""
    reads: dict = {}  # id(node) -> whether the let `name` is at or under it
    out: set = set()
    stack = [(trace, False)]
    while stack:
        n, done = stack.pop()
        if id(n) in reads and not done:
            continue
        if not done:
            if n.kind == "paid":
                reads[id(n)] = False
                continue
            reads[id(n)] = False  # while its children are asked (a cycle reads nothing)
            stack.append((n, True))
            stack.extend((c, False) for c in n.children if id(c) not in reads)
            continue
        hit = (n.kind == "let" and n.name == name) or any(reads.get(id(c), False) for c in n.children)
        reads[id(n)] = hit
        if hit and n.kind == "let":
            out.add(n.name)
    return out


def _said(plan, m) -> list:
    """[(column, value)] of the filters' `column == "text"` conditions (the payee's links left out)."""
    out = []
    for f in whatif_zero.filters_of(plan, m.call):
        for c, e in f.eq:
            if isinstance(e, (ir.String, ir.Number)) and (c, e.value) not in out:
                out.append((c, e.value))
    return out


def prepare(plan, full, tables, payee, period, payout, m, ev):
    """m with the row its what-ifs add (`added`, `target`), checked by an interpreter re-run
    on `tables` with it added: the count one more and every other let of the component as
    it was; None when no copy of the rows tried (the payee's first MAX_TEMPLATES, then the
    table's first) does that."""
    table = full[m.table]
    ctx = ev.context(payee, period)
    tied = whatif_zero.links(plan, m)
    own = whatif_zero.own_rows(table, tied, payee.id)[:MAX_TEMPLATES]
    # then the table's first row, as whatif_zero copies it: the rows of another payee
    # `--payee` loads are not those of `--all`, and the copy must be the same for both
    others = [table.rows[0]] if table.rows and table.rows[0] not in own else []
    base = whatif._values_of([payout])
    keep = {n for n in base if n not in _above(payout.trace, m.name)}
    w = whatif.WhatIf(plan, tables, payee, period)
    for template in own + others:
        try:
            made = whatif_zero.phantom(plan, full, m, ev, ctx, template)
        except _ERRORS:
            made = None
        if made is None:
            continue
        row = made[0]
        added = Added(row, template, table.spec.key, _said(plan, m))
        got = w.run(added={m.table: [row]}, trace=True)
        if got is None:
            continue
        after = whatif._values_of(got)
        if after.get(m.name) == m.value + 1 and all(after.get(n) == base[n] for n in keep):
            return attrs.evolve(m, added=added, target=RowRef(m.table, row.number, row.id, None))
    return None


def effects(plan, full, tables, payee, period, payout, m, tiers_) -> list:
    """What 1 more row of a prepared count pays (and the rows to the next tier), each number
    of rows re-run by the interpreter for this payee on `tables`."""
    w = whatif.WhatIf(plan, tables, payee, period)
    return whatif.effects(w, payout, m, tiers_)


def sentence(st, pv, c, e) -> str:
    """A count's what-if in the statement's words: `1 more row of leads in signed (product
    emotion_ai) before June 30, 2025 would pay €300.00 more on emotion_ai_challenge`; with the
    next tier: `3 more rows of deals in won_deals before ... reach the next tier (...) and would
    pay ...`."""
    L, m, n = st.locale, e.measure, e.delta
    what = (L._("1 more row of {table} in {measure}", table=m.table, measure=m.name) if L.one(int(n)) else
            L._("{n} more rows of {table} in {measure}", n=L.number(n), table=m.table, measure=m.name))
    if m.added.said:
        what = L._("{rows} ({conditions})", rows=what, conditions=L.semicolon().join(
            f"{L.word(col)} {L.value(v) if isinstance(v, Decimal) else v}" for col, v in m.added.said))
    values = dict(what=what, date=L.date(pv.end), gain=L.money(e.gain, st.currency), component=c.name)
    if e.tier is None:
        return L._("{what} before {date} would pay {gain} more on {component}", **values)
    tier = words.say(L, words.engine_note(e.tier))
    if L.one(int(n)):
        return L._("{what} before {date} reaches the next tier ({tier}) and would pay {gain} more on {component}",
                   tier=tier, **values)
    return L._("{what} before {date} reach the next tier ({tier}) and would pay {gain} more on {component}",
               tier=tier, **values)


def ask(sh, view, payout, payee, period, ev) -> None:
    """The count what-ifs of a component (statement.py's `_credit`, sh its Shared): each count
    of its trace prepared, then asked of the batch of `statement --all` when there is one
    (its effects appended to view.count_effects when the batch runs), else re-run here."""
    if not count_calls(sh.plan):  # no count in the plan: its traces are not walked
        return
    tiers = whatif.tiers(sh.plan, view.curves)
    ctx = ev.context(payee, period)
    for m in count_measures(sh.plan, payout.trace, sh.tables):
        try:
            if whatif.snapshot_day(sh.plan, sh.tables, m, ev, ctx) is not None:
                continue
            m = prepare(sh.plan, sh.tables, sh.rerun_tables(payee), payee, period, payout, m, ev)
            if m is None:
                continue
            if sh.batch is not None:
                sh.batch.add(payee.id, period, payout, m, tiers, view.count_effects)
                continue
            found = effects(sh.plan, sh.tables, sh.rerun_tables(payee), payee, period, payout, m, tiers)
        except _ERRORS:
            continue
        view.count_effects += [e for e in found if e.gain > 0]
