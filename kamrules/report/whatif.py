"""What-if amounts in euros of business, computed by the engine, never by a linear guess.

A *measure* is a sum of money over input rows in a component's derivation (`let bookings =
sum(amount for deals where ...)`): the trace gives its rows, the plan the summed column.
`WhatIf` re-runs the whole plan for one payee and one period through the interpreter's
public `evaluate` on tables where one credited row of the measure carries X more: the
component's amount before and after is what X more business pays, however often the
measure appears in the component (`bookings * retro_rate(bookings)`) and whether the rate
is a curve or a formula. The next tier is the smallest whole X at which the axis of a
curve the component reads reaches the next threshold (`search`: every candidate X a re-run;
interpolation between re-runs only chooses the next candidate, on the unrounded attainment
when the axis rounds it: report/whatif_edge.py). Counts of rows: report/whatif_count.py.

`search` is a generator that asks for re-runs; `effects` answers it with this interpreter
re-run of one payee, report/whatif_batch.py with the columnar engine re-running the plan
on the whole population at once, one changed row per payee (the same search, the same
amounts).

Only the changed table is copied per re-run; its lookups (`index`, `by_key`) are derived
from the original table's, patched for the changed row, so a re-run costs about the
payee's own rows.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from kamrules.backends.interp.arith import Problem
from kamrules.backends.interp.run import evaluate
from kamrules.core.numeric import Money
from kamrules.data.strict import Row
from kamrules.diagnostics.diagnostic import KamError
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.report.leftout import base_where
from kamrules.report.words import find_nodes
from kamrules.report import whatif_edge
from kamrules.trace.tree import calculation_parts, owned_nodes

MAX_DOUBLINGS = 14  # the next tier is looked for up to 2^14 x 1% of the measure (164x)


@attrs.define
class Measure:
    name: str  # the let that holds it (`bookings`), else the aggregate's text
    table: str  # the input table of its rows
    column: str  # the summed column
    value: Money
    rows: list  # RowRef credited, with contributions
    call: object = None  # the plan's sum() call
    target: object = None  # the RowRef a what-if changes, when not the largest (report/statement.py)
    scale: Decimal | None = None  # whose 1% is the first step, when not the value (a measure at zero)
    formula: bool = False  # a sum of a per-row formula of the column (`sum(amount * rate(discount) for ...)`)
    like: tuple = ()  # the target row in words when the formula's rate depends on the row (report/whatif_rows.py)
    added: object = None  # a count's what-if: whatif_count.Added, the row added (copies of it: X more rows)


@attrs.define
class Outcome:
    """What a re-run gives for one payee and period: each component's amount, and the value
    of each let (a number; Money as its amount)."""
    amounts: dict
    values: dict


@attrs.define
class Tier:
    """The next tier of a curve read by a component: its axis (a let), the threshold and how
    it is reached (`from`: >=, `above`: >), and the row it starts, as the derivation says it."""
    axis: str
    threshold: Decimal
    word: str
    label: str
    inner: object = None  # E of an axis `round(E, 1%, down)`: arithmetic of lets and params (whatif_edge.py)
    reads: frozenset = frozenset()  # the lets and params E reads
    params: frozenset = frozenset()  # those of them that are params (the same in every re-run)
    step: bool = False  # not a tier: the next step of a rounded axis past the top tier (step_tier)

    def reached(self, v) -> bool:
        return v is not None and (v >= self.threshold if self.word == "from" else v > self.threshold)


@attrs.define
class Effect:
    measure: Measure
    delta: Money  # more business
    gain: Decimal  # what it pays more on the component
    tier: str | None = None  # the decision and row reached (next tier), None for "1% more"
    step: tuple | None = None  # (axis, its value reached): the next step of a rounded axis (step_tier)


class ChangedTable:
    """A table with some rows replaced (and rows added: report/whatif_zero.py), its lookups
    derived from the original's."""

    def __init__(self, base, pairs: list, added: list = ()):
        self.spec, self.path, self._base, self._pairs = base.spec, base.path, base, pairs
        self._added = list(added)
        changes = {id(old): new for old, new in pairs}
        self.rows = [changes.get(id(r), r) for r in base.rows] + self._added
        self._indexes: dict = {}  # the interpreter's grouped selections (select.py), rebuilt
        self._key_index = None

    def by_key(self) -> dict:
        if self._key_index is None:
            idx = dict(self._base.by_key())
            for new in [n for _, n in self._pairs] + self._added:
                idx[new.values[self.spec.key]] = new
            self._key_index = idx
        return self._key_index

    def index(self, column: str, keyfn=None) -> dict:
        key = (column, keyfn)
        if key not in self._indexes:
            base = dict(self._base.index(column, keyfn))
            for r in self._added:
                v = r.values[column]
                k = keyfn(v) if keyfn is not None and v is not None else v
                base[k] = list(base.get(k, ())) + [r]
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


def money_aggregates(trace):
    """(node, owner) of each aggregate of money written in the plan in a component's trace, each
    once, in trace order (earlier periods' `paid` left out); owner: the let holding it, or None."""
    for node, owner in owned_nodes(trace):
        if node.kind == "aggregate" and isinstance(node.value, Money) and node.span is not None:
            yield node, owner


def measures(plan, trace, tables, row_at=None) -> list:
    """The money sums over input rows in a component's trace, each once, in trace order: sums
    of a column, and sums of a per-row formula reading one money column (`formula_columns`),
    whose value is the business of the rows they credit (the column added up over them);
    row_at(table, row number) -> the row (default: looked for in `tables`)."""
    sums, formulas = sum_columns(plan), formula_columns(plan)
    out = []
    for node, owner in money_aggregates(trace):
        at = (node.span.line, node.span.column)
        column, call = sums.get(at) or formulas.get(at) or (None, None)
        rows = [r for r in node.rows if isinstance(r.contribution, Money)]
        if column and rows and rows[0].table in tables and column in tables[rows[0].table].spec.columns:
            key = (owner or node.name, rows[0].table, column)
            if key in {(m.name, m.table, m.column) for m in out}:
                continue
            m = Measure(owner or node.name, rows[0].table, column, node.value, rows, call, formula=at not in sums)
            if m.formula:
                m.value = business(m, tables, row_at)
                if m.value is None:  # the column in several currencies: no sum of business
                    continue
            out.append(m)
    return out


def business(m: Measure, tables, row_at=None) -> Money | None:
    """A formula measure's business: its column added up over the rows it credits (None when
    they are not all money of one currency)."""
    if row_at is None:
        numbered = {r.number: r for r in tables[m.table].rows}
        row_at = lambda table, number: numbered[number]  # noqa: E731
    total, cur = Decimal(0), None
    for r in m.rows:
        v = row_at(r.table, r.row).values.get(m.column)
        if not isinstance(v, Money) or cur not in (None, v.currency):
            return None
        total, cur = total + v.amount, v.currency
    return Money(total, cur) if cur is not None else None


def measures_over(plan, trace, tables, row_at=None) -> list:
    """measures() of a payout that may add up several calculation periods (`payment quarter` on
    a monthly plan): each period's measures merged by let, table and column, each data row
    once, the value the sum of the rows credited (the first month's sum is not the quarter's)."""
    parts = calculation_parts(trace)
    if len(parts) == 1:
        return measures(plan, trace, tables, row_at)
    merged: dict = {}
    for part in parts:
        for m in measures(plan, part, tables, row_at):
            have = merged.setdefault((m.name, m.table, m.column), attrs.evolve(m, rows=[]))
            known = {(r.table, r.row) for r in have.rows}
            have.rows += [r for r in m.rows if (r.table, r.row) not in known]
    for m in merged.values():
        m.value = business(m, tables, row_at) if m.formula else Money(
            sum((r.contribution.amount for r in m.rows), Decimal(0)), m.value.currency)
    return [m for m in merged.values() if m.value is not None]


_SUMS: dict = {}


def sum_columns(plan) -> dict:
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


_FORMULAS: dict = {}


def formula_columns(plan) -> dict:
    """(line, column) of each `sum(formula for ...)` whose per-row formula reads exactly one
    money column of the row, however often (`round(amount * colour_rate(discount), cent,
    half_up)`, `amount * (margin - 10%)`), and no money from elsewhere (a key lookup, an
    enclosing row) -> (that column, the call): more of that column on a credited row is
    more business of the sum."""
    hit = _FORMULAS.get(id(plan))
    if hit is None or hit[0] is not plan:
        found = {}
        for d in ir_of(plan).definitions.values():
            for call in find_nodes(d.node, lambda n: isinstance(n, ir.Call) and n.func == "sum"):
                arg = call.args[0] if call.args else None
                if not isinstance(arg, ir.Each) or isinstance(arg.expr, (ir.Name, ir.Attr)):
                    continue
                col = _one_money_column(arg.expr)
                if col:
                    found[(call.span.line, call.span.column)] = (col, call)
        hit = _FORMULAS[id(plan)] = (plan, found)
    return hit[1]


def _one_money_column(expr) -> str | None:
    cols = find_nodes(expr, lambda n: isinstance(n, ir.Name) and n.ref and n.ref[0] == "column")
    if any(n.ref[1] != 0 for n in cols) or find_nodes(expr, lambda n: isinstance(n, (ir.Index, ir.Each))):
        return None  # an enclosing row's column, a row read by key, a sum inside: not this row's alone
    money = {n.ref[3] for n in cols if n.type is not None and n.type.kind == "money"}
    return next(iter(money)) if len(money) == 1 else None


class WhatIf:
    """Re-runs of one payee's plan for one period with a measure's rows changed; each re-run
    gives every component, so the components of the payee share them (kept by change)."""

    def __init__(self, plan, tables, payee, period, row_at=None):
        self.plan, self.tables, self.payee, self.period = plan, tables, payee, period
        self.row_at = row_at or (lambda table, number: next(
            r for r in tables[table].rows if r.number == number))
        self.runs = 0
        self._done: dict = {}

    def run(self, changes: dict | None = None, trace: bool = False, added: dict | None = None) -> list | None:
        """The payouts with `changes` {table: [(old row, new row)]} and the rows `added`
        {table: [row]}, None when the plan fails."""
        t = dict(self.tables)
        for name in {*(changes or {}), *(added or {})}:
            t[name] = ChangedTable(self.tables[name], (changes or {}).get(name, []), (added or {}).get(name, ()))
        self.runs += 1
        try:
            return evaluate(self.plan, t, [self.period], trace=trace, payee_ids={self.payee.id},
                            integrity=False)
        except (KamError, Problem, ArithmeticError):
            return None

    def outcome(self, m: Measure, delta: Decimal, names) -> Outcome | None:
        """Every component's amount, and the values of the lets `names`, with `delta` more on
        the measure's largest credited row; None when the plan fails on it."""
        ref = target_row(m)
        key = (ref.table, ref.row, changes_of(m), delta)
        got = self._done.get(key)
        if got is None and m.added is not None:  # a count: `delta` copies of a row added
            rows = m.added.copies(delta)
            payouts = None if rows is None else self.run(added={m.table: rows}, trace=True)
            got = self._done[key] = (None if payouts is None else Outcome(
                {p.component: p.amount for p in payouts}, _values_of(payouts)),)
        if got is None:
            row = self.row_at(ref.table, ref.row)
            old = row.values[m.column]
            if isinstance(old, Money):
                changed = Money(old.amount + delta, old.currency)
            elif isinstance(old, Decimal) and not isinstance(old, bool):  # a rate read per row (whatif_rows.py)
                changed = old + delta
            else:
                return None
            new = Row(row.table, row.number, row.id, {**row.values, m.column: changed})
            payouts = self.run({m.table: [(row, new)]}, trace=True)
            got = self._done[key] = (None if payouts is None else Outcome(
                {p.component: p.amount for p in payouts}, _values_of(payouts)),)
        return got[0]


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


def _number(v):
    return v.amount if isinstance(v, Money) else v if isinstance(v, Decimal) else None


def _values_of(payouts) -> dict:
    out: dict = {}
    for p in payouts:
        if p.trace is not None:
            for n in _nodes(p):
                if n.kind in ("let", "param") and n.name not in out:
                    out[n.name] = _number(n.value)
    return out


def values(payout, names) -> dict:
    """let/param name -> its value (a number) in a traced payout, for the names asked."""
    out: dict = {}
    for n in _nodes(payout):
        if n.kind in ("let", "param") and n.name in names and n.name not in out:
            out[n.name] = _number(n.value)
    return out


def _under(payout, names) -> set:
    """The lets directly under the named lets or params in a traced payout."""
    out: set = set()
    for n in _nodes(payout):
        if n.kind in ("let", "param") and n.name in names:
            out |= {c.name for c in n.children if c.kind == "let"}
    return out


POOLED = ("share", "team_total")  # a payee's amount read from everyone's rows


def pooled(plan) -> bool:
    """Whether a payee's payout reads other payees' rows (share, team_total, requires)."""
    lowered = ir_of(plan)
    known = _POOLED.get(id(lowered))
    if known is None or known[0] is not lowered:
        known = _POOLED[id(lowered)] = (lowered, bool(lowered.requires) or any(
            find_nodes(d.node, lambda n: isinstance(n, ir.Call) and n.func in POOLED)
            for d in lowered.definitions.values()))
    return known[1]


_POOLED: dict = {}


def seed(memo: dict, trace) -> None:
    """An untraced interpreter context's memo filled with the let and param values of a
    traced payout of the same payee and period: the values the run computed, read again
    instead of evaluated again (not for pooled plans, whose traces hold other payees')."""
    stack = [trace] if trace is not None else []
    while stack:
        n = stack.pop()
        if n.kind == "paid":
            continue
        if n.kind in ("let", "param") and n.name not in memo:
            memo[n.name] = (n.value, None)
        stack.extend(n.children)


def snapshot_day(plan, tables, m: Measure, ev, ctx):
    """The one day a measure is taken on when the filter of its rows selects a day (`arr where
    date == period.start`: a portfolio on the quarter's first day) and no span of dates: more
    business before the period's end does not change it, so "X more" of it makes no sense and
    no what-if is offered; None for a measure of the period's business (or a day unknown)."""
    where = base_where(plan, m.call) if m.call is not None else None
    flt = where.filter if where is not None else None
    if flt is None or flt.in_period or where.source.id not in tables:
        return None
    columns = tables[where.source.id].spec.columns
    days = [e for c, e in flt.eq if c in columns and columns[c].type.kind == "date"]
    if not days:
        return None
    try:
        day = ev.ev(days[0], ctx, ())
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return None
    return day if isinstance(day, dt.date) else None


def changes_of(m: Measure):
    """What a what-if of m changes on its target row: its column, or for a count (rows
    added, no column) the count's name (two counts of a table add different rows)."""
    return m.column if m.added is None else ("rows of", m.name)


def target_row(m: Measure):
    """The row a what-if changes: the measure's `target`, else its largest credited row."""
    return m.target if m.target is not None else max(m.rows, key=lambda r: r.contribution.amount)


def tiers(plan, curves) -> list:
    """[Tier] of a component's curves whose axis is a let or param and that have a next tier."""
    out = []
    lowered = ir_of(plan).definitions
    for cv in curves:
        if cv.next_tier is None or cv.arg_name not in plan.definitions or cv.decision not in lowered:
            continue
        t, word, row, _, _ = cv.next_tier
        cells = " | ".join(c.shown for c in lowered[cv.decision].node.rows[row - 1].cells)
        inner, reads, params = whatif_edge.unrounded(lowered, cv.arg_name)
        out.append(Tier(cv.arg_name, t, word, f"{cv.decision}: row {row}: | {cells} |", inner, reads, params))
    if not out:
        out = [t for t in (step_tier(lowered, cv) for cv in curves) if t is not None]
    return out


def step_tier(lowered: dict, cv):
    """Past a curve's top tier, an axis rounded to a step (`nrr_attainment = round(nrr_result /
    nrr_target, 1%, down)` at 110%, the curve still rising) moves only a step at a time: 1% more
    business may pay nothing, yet some more reaches 111% and pays. Its next step as a Tier
    (threshold: the axis + the step), searched only when 1% more pays nothing (search)."""
    if not cv.top or cv.arg_name not in lowered:
        return None
    d = lowered[cv.arg_name]
    expr = d.node.expr if d.kind == "let" else None
    if not (isinstance(expr, ir.Call) and expr.func == "round" and len(expr.args) >= 2
            and isinstance(expr.args[1], ir.Number) and expr.args[1].value > 0):
        return None
    inner, reads, params = whatif_edge.unrounded(lowered, cv.arg_name)
    return Tier(cv.arg_name, cv.x + expr.args[1].value, "from", cv.decision, inner, reads, params, step=True)


def watched(payout, tiers_: list) -> set:
    """The lets whose rise shows that more of a measure moves the tiers' axes: the axes and
    the lets directly under them (a rounded axis moves late: its inputs move first), and the
    names the unrounded argument of an axis reads (whatif_edge.py)."""
    axes = {t.axis for t in tiers_}
    return axes | _under(payout, axes) | {n for t in tiers_ for n in t.reads} if axes else set()


def search(payout, m: Measure, tiers_: list, names: set, base: dict):
    """What `m` more pays, as a generator: it yields the amounts of more business to re-run
    the plan with (on the measure's largest credited row) and is sent each re-run's
    Outcome (None when the plan fails); it returns the [Effect]s.

    First a step of 1% of the measure (whole currency units, at least one). Then, when the
    component reads curves with a next tier on a let (`tiers_`) and more of the measure moves
    one of the `names` up, the smallest whole amount at which a tier's axis reaches its
    threshold, every candidate checked by a re-run: from the re-runs seen, a guess by
    interpolation along the axis (bisection when a guess does not halve the bracket), until
    the amount found and one not reaching it are one currency unit apart: the smallest whole
    amount that reaches the tier, also when the axis is rounded (an attainment truncated to
    the percent moves in steps: the guesses then only narrow the bracket, bisection ends it),
    and always an amount at which the tier is reached (the smallest found after MAX_PROBES
    re-runs). When the axis is `round(E, ...)` of arithmetic of lets (whatif_edge.py), the
    line is E's, which the measure moves at once (linearly for a term of a sum): its amount,
    then the unit below it, are re-run, and the engine's answers at the two say the edge
    (some 3 re-runs instead of about 20); a measure that moves E down is not searched further.

    A count (m.added, whatif_count.py) asks numbers of rows: one first, then the same search;
    its Effect's delta is that number, not money."""
    comp, now, unit = payout.component, payout.amount, Decimal(1)
    cur = None if m.added is not None else m.value.currency  # a count: X more rows, one the first step
    scale = Decimal(0) if cur is None else abs(m.value.amount) if m.scale is None else m.scale
    step = max((scale / 100).to_integral_value(rounding="ROUND_CEILING"), unit)
    o = yield step
    if o is None:
        return []
    out = [Effect(m, _more(step, cur), o.amounts.get(comp, Decimal(0)) - now)]
    if not tiers_ or (tiers_[0].step and out[0].gain != 0):  # a rounded axis's next step: only when
        return out  # the first step pays nothing

    def up(o) -> bool:
        return any(o.values.get(k) is not None and base.get(k) is not None and o.values[k] > base[k] for k in names)

    def reached(o):
        return next((t for t in tiers_ if t.reached(o.values.get(t.axis))), None)

    axis = tiers_[0]
    level = whatif_edge.level(axis, base)  # the unrounded E when known, else the axis itself
    here = level(base)

    def at(x, o):
        v = level(o.values)
        return (x, v if v is not None else here)

    lo, found = (Decimal(0), here), None
    if reached(o):
        found = (step, o)
    elif not up(o):
        if axis.inner is not None and here is not None and at(step, o)[1] < here:
            return out  # E went down: more of this measure moves away from the tier
        o16 = yield step * 16
        if o16 is None or not up(o16):
            return out
        lo, o = at(step * 16, o16), o16
        if reached(o16):
            found, lo = (step * 16, o16), at(step, o)
    else:
        lo = at(step, o)
    prev = (Decimal(0), here)
    reach = 2 ** MAX_DOUBLINGS if axis.inner is not None else 64  # E's line is trusted further than the axis's
    probes = 0
    while found is None:  # gallop: interpolate along the axis, else double
        probes += 1
        if probes > MAX_DOUBLINGS:
            return out
        g = _guess(prev, lo, axis.threshold, unit, axis.inner is not None)
        g = min(max(g if g is not None else lo[0] * 2, lo[0] + unit), lo[0] * reach)
        o = yield g
        if o is None:
            return out
        if reached(o):
            found = (g, o)
        else:
            if at(g, o)[1] is not None and lo[1] is not None and at(g, o)[1] > lo[1]:
                prev = lo
            lo = at(g, o)
    hi, o_hi = found
    hi_v, bisect = at(hi, o_hi), False
    for _ in range(MAX_PROBES * (2 if axis.inner is not None else 1)):  # narrow [lo (not reached), hi (reached)] to one unit
        if hi - lo[0] <= unit:
            break
        g = None if bisect else _guess(lo, hi_v, axis.threshold, unit, axis.inner is not None)
        edge = g is not None and axis.inner is not None and g >= hi
        if edge:  # E's line puts the edge at hi: check the unit below
            g = hi - unit
        if g is None or not lo[0] < g < hi:
            g = min(((lo[0] + hi) / 2).to_integral_value(rounding="ROUND_CEILING"), hi - unit)
        o = yield g
        if o is None:
            break
        width = hi - lo[0]
        if reached(o):
            hi, o_hi, hi_v = g, o, at(g, o)
        else:
            lo = at(g, o)
        # a guess that did not halve: bisect next (not after E's edge reached: the next unit below then)
        bisect = not bisect and hi - lo[0] > width / 2 and not (edge and hi == g)
    t = reached(o_hi)
    if cur is None and hi == step:  # one more row reaches the tier: said once, with the tier
        out = []
    if t.step:  # the axis's next step (step_tier): said with the value it reaches, not a tier
        return out + [Effect(m, _more(hi, cur), o_hi.amounts.get(comp, Decimal(0)) - now,
                             step=(t.axis, o_hi.values.get(t.axis)))]
    out.append(Effect(m, _more(hi, cur), o_hi.amounts.get(comp, Decimal(0)) - now, t.label))
    return out


def _more(x: Decimal, cur):
    """The more business of an Effect: money, or a number of rows (a count's, cur None)."""
    return x if cur is None else Money(x, cur)


def _guess(a: tuple, b: tuple, t, unit, exact: bool = False):
    """The whole amount at which the line through (x, axis value) a and b reaches t; exact
    (a line of E, whatif_edge.py): its digits beyond the millionth, the division's, dropped
    first (15000.000...01 is 15000)."""
    (xa, va), (xb, vb) = a, b
    if va is None or vb is None or vb == va or xb == xa:
        return None
    g = xa + (t - va) * (xb - xa) / (vb - va)
    if exact:
        try:
            g = g.quantize(Decimal("0.000001"))
        except ArithmeticError:  # beyond the context's digits: as it is
            pass
    return g.to_integral_value(rounding="ROUND_CEILING") if g > 0 else None


MAX_PROBES = 24  # a bracket of 2^24 units closes by bisection alone


def drive(gen, ask):
    """Runs a search generator with ask(delta) -> Outcome | None; returns its [Effect]."""
    try:
        x = next(gen)
        while True:
            x = gen.send(ask(x))
    except StopIteration as done:
        return done.value or []


def effects(w: WhatIf, payout, m: Measure, tiers_: list = ()) -> list:
    """What `m` more pays (search), each amount re-run by the interpreter for this payee."""
    names = watched(payout, tiers_)
    return drive(search(payout, m, list(tiers_), names, values(payout, names)),
                 lambda delta: w.outcome(m, delta, names))
