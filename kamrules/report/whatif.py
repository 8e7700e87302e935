"""What-if amounts in euros of business, computed by the engine, never by a linear guess.

A *measure* is a sum of money over input rows in a component's derivation (`let bookings =
sum(amount for deals where ...)`): the trace gives its rows, the plan the summed column.
`WhatIf` re-runs the whole plan for one payee and one period through the interpreter's
public `evaluate` on tables where one credited row of the measure carries X more: the
component's amount before and after is what X more business pays, however often the
measure appears in the component (`bookings * retro_rate(bookings)`) and whether the rate
is a curve or a formula. The next tier is the smallest whole X (found by doubling then
halving, each step a re-run) at which a decision of the component reads another row.

Only the changed table is copied per re-run; its lookups (`index`, `by_key`) are derived
from the original table's, patched for the changed row, so a re-run costs about the
payee's own rows.
"""
from __future__ import annotations

import attrs
from decimal import Decimal

from kamrules.backends.interp.arith import Problem
from kamrules.backends.interp.run import evaluate
from kamrules.core.numeric import Money
from kamrules.data.strict import Row
from kamrules.diagnostics.diagnostic import KamError
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.report.words import find_nodes

MAX_DOUBLINGS = 14  # the next tier is looked for up to 2^14 x 1% of the measure (164x)


@attrs.define
class Measure:
    name: str  # the let that holds it (`bookings`), else the aggregate's text
    table: str  # the input table of its rows
    column: str  # the summed column
    value: Money
    rows: list  # RowRef credited, with contributions
    call: object = None  # the plan's sum() call


@attrs.define
class Effect:
    measure: Measure
    delta: Money  # more business
    gain: Decimal  # what it pays more on the component
    tier: str | None = None  # the decision and row reached (next tier), None for "1% more"


class ChangedTable:
    """A table with some rows replaced, its lookups derived from the original's."""

    def __init__(self, base, pairs: list):
        self.spec, self.path, self._base, self._pairs = base.spec, base.path, base, pairs
        changes = {id(old): new for old, new in pairs}
        self.rows = [changes.get(id(r), r) for r in base.rows]
        self._indexes: dict = {}  # the interpreter's grouped selections (select.py), rebuilt
        self._key_index = None

    def by_key(self) -> dict:
        if self._key_index is None:
            idx = dict(self._base.by_key())
            for _, new in self._pairs:
                idx[new.values[self.spec.key]] = new
            self._key_index = idx
        return self._key_index

    def index(self, column: str, keyfn=None) -> dict:
        key = (column, keyfn)
        if key not in self._indexes:
            base = self._base.index(column, keyfn)
            idx = dict(base)
            for old, new in self._pairs:
                k_old, k_new = (keyfn(r.values[column]) if keyfn is not None and r.values[column] is not None
                                else r.values[column] for r in (old, new))
                idx[k_old] = [r for r in idx[k_old] if r is not old]
                if k_old == k_new:
                    idx[k_new] = [new if r is old else r for r in base[k_old]]
                else:
                    idx[k_new] = list(idx.get(k_new, ())) + [new]
            self._indexes[key] = idx
        return self._indexes[key]


def measures(plan, trace, tables) -> list:
    """The money sums over input rows in a component's trace, each once, in trace order."""
    sums = _sum_columns(plan)
    out, seen = [], set()
    stack = [(trace, None)]
    while stack:
        node, owner = stack.pop()
        if id(node) in seen or node.kind == "paid":
            continue
        seen.add(id(node))
        if node.kind == "aggregate" and isinstance(node.value, Money) and node.span is not None:
            column, call = sums.get((node.span.line, node.span.column), (None, None))
            rows = [r for r in node.rows if isinstance(r.contribution, Money)]
            if column and rows and rows[0].table in tables and column in tables[rows[0].table].spec.columns:
                key = (owner or node.name, rows[0].table, column)
                if key not in {(m.name, m.table, m.column) for m in out}:
                    out.append(Measure(owner or node.name, rows[0].table, column, node.value, rows, call))
        here = node.name if node.kind == "let" else owner
        stack.extend((c, here) for c in reversed(node.children))
    return out


_SUMS: dict = {}


def _sum_columns(plan) -> dict:
    """(line, column) of each `sum(column for ...)` of the plan -> (the column summed, the call)."""
    hit = _SUMS.get(id(plan))
    if hit is None or hit[0] is not plan:
        found = {}
        for d in ir_of(plan).definitions.values():  # lowered (core.ir): the calls the engine runs
            for call in find_nodes(d.node, lambda n: isinstance(n, ir.Call) and n.func == "sum"):
                arg = call.args[0] if call.args else None
                if isinstance(arg, ir.Each):
                    e = arg.expr
                    col = e.id if isinstance(e, ir.Name) else e.name if isinstance(e, ir.Attr) else None
                    if col:
                        found[(call.span.line, call.span.column)] = (col, call)
        hit = _SUMS[id(plan)] = (plan, found)
    return hit[1]


class WhatIf:
    """Re-runs of one payee's plan for one period with a measure's rows changed; each re-run
    gives every component, so the components of the payee share them (kept by change)."""

    def __init__(self, plan, tables, payee, period, row_at=None):
        self.plan, self.tables, self.payee, self.period = plan, tables, payee, period
        self.row_at = row_at or (lambda table, number: next(
            r for r in tables[table].rows if r.number == number))
        self.runs = 0
        self._done: dict = {}

    def run(self, changes: dict | None = None, trace: bool = False) -> list | None:
        """The payouts with `changes` {table: [(old row, new row)]}, None when the plan fails."""
        t = dict(self.tables)
        for name, ch in (changes or {}).items():
            t[name] = ChangedTable(self.tables[name], ch)
        self.runs += 1
        try:
            return evaluate(self.plan, t, [self.period], trace=trace, payee_ids={self.payee.id},
                            integrity=False)
        except (KamError, Problem, ArithmeticError):
            return None

    def more(self, m: Measure, delta: Decimal, component: str, trace: bool = False):
        """(amount, payout) of `component` with `delta` more on the measure's largest credited
        row; (None, None) when the plan fails on it."""
        ref = max(m.rows, key=lambda r: r.contribution.amount)
        key = (ref.table, ref.row, m.column, delta)
        got = self._done.get(key)
        if got is None or (trace and not got[0]):
            row = self.row_at(ref.table, ref.row)
            old = row.values[m.column]
            if not isinstance(old, Money):
                return None, None
            new = Row(row.table, row.number, row.id, {**row.values, m.column: Money(old.amount + delta, old.currency)})
            got = self._done[key] = (trace, self.run({m.table: [(row, new)]}, trace))
        if got[1] is None:
            return None, None
        p = next((p for p in got[1] if p.component == component), None)
        return (p.amount, p) if p is not None else (Decimal(0), None)


def _nodes(payout):
    """Each node of a traced payout once, in depth-first order (earlier periods left out)."""
    stack, seen = [payout.trace] if payout.trace is not None else [], set()
    while stack:
        n = stack.pop()
        if id(n) in seen or n.kind == "paid":
            continue
        seen.add(id(n))
        yield n
        stack.extend(n.children)


def decisions(payout) -> dict:
    """decision name -> the row it read, in a traced payout."""
    out: dict = {}
    for n in _nodes(payout):
        if n.kind == "decision":
            out.setdefault(n.name.split("(", 1)[0], n.branch)
    return out


def values(payout, names) -> dict:
    """let/param name -> its value (a number) in a traced payout, for the names asked."""
    out: dict = {}
    for n in _nodes(payout):
        if n.kind in ("let", "param") and n.name in names and n.name not in out:
            v = n.value
            out[n.name] = v.amount if isinstance(v, Money) else v if isinstance(v, Decimal) else None
    return out


def _under(payout, names) -> set:
    """The lets directly under the named lets or params in a traced payout."""
    out: set = set()
    for n in _nodes(payout):
        if n.kind in ("let", "param") and n.name in names:
            out |= {c.name for c in n.children if c.kind == "let"}
    return out


def effects(w: WhatIf, payout, m: Measure, axes=()) -> list:
    """What `m` more pays: a step of 1% (whole currency units, at least one) and, when the
    component's decisions read the lets or params `axes`, the next tier along this measure:
    looked for only when more of the measure moves one of them up (doubling the step until a
    decision reads another row, then halving to half a percent of the amount found)."""
    now, out, unit = payout.amount, [], Decimal(1)
    step = max((abs(m.value.amount) / 100).to_integral_value(rounding="ROUND_CEILING"), unit)
    amount, p1 = w.more(m, step, payout.component, trace=bool(axes))
    if amount is None:
        return out
    out.append(Effect(m, Money(step, m.value.currency), amount - now))
    start = decisions(payout)
    if not axes or p1 is None or not start:
        return out
    axes = set(axes) | _under(payout, axes)  # a rounded axis moves late: its inputs move first
    base = values(payout, axes)

    def up(p) -> bool:
        v = values(p, axes)
        return any(v.get(k) is not None and base.get(k) is not None and v[k] > base[k] for k in axes)

    def moved(p):
        d = decisions(p)
        changed = [k for k in start if d.get(k) not in (None, start[k])]
        return (p.amount, changed, d) if changed else None

    if not up(p1):
        _, p16 = w.more(m, step * 16, payout.component, trace=True)
        if p16 is None or not up(p16):
            return out  # more of this measure does not move what the decisions read up

    def at(delta):
        _, p = w.more(m, delta, payout.component, trace=True)
        return moved(p) if p is not None else None

    lo, hi, found = Decimal(0), step, moved(p1)
    for _ in range(MAX_DOUBLINGS):
        if found:
            break
        lo, hi = hi, hi * 2
        found = at(hi)
    if not found:
        return out
    while hi - lo > max(unit, hi / 200):
        mid = ((lo + hi) / 2).to_integral_value(rounding="ROUND_CEILING")
        f = at(mid)
        if f:
            hi, found = mid, f
        else:
            lo = mid
    a, changed, d = found
    out.append(Effect(m, Money(hi, m.value.currency), a - now, f"{changed[0]}: {d[changed[0]]}"))
    return out
