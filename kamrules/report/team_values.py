"""The values the team page (report/team.py build_team) shows beside the payouts, read from
the columnar engine's run: each payee's measures, on-target variable, eligibility and a
pool's weights per period, from the frame's definition columns (Session.definition_values:
what `run --trace-dir` writes), with no derivation tree and no second evaluation.

`FrameValues` answers as the interpreter's Evaluator does where build_team asks it
(`context`, `is_eligible`, `definition`: a value that cannot be had raises LookupError) and
gives each payout's measures as `_traced_measures` reads them in the payouts' trees: the
measures a component reads whatever branch it takes (`sure_reads`), one value per
calculation period, shown only when the periods agree. A plan in which a measure is read
only on some branch of a component (`if`, `and`/`or`, a row's filter, default's fallback)
has no FrameValues (`frame_values` returns None): which measures a tree holds is then known
only by evaluating it, and the team page keeps the interpreter's trees (the reference).
A payee-period the frame does not decide (a payee the engine handed to the interpreter, a
payment period made of several calculation periods asked as a whole) is evaluated by the
interpreter (`fallback`: an Evaluator built on first use).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.check.lint import on_target_of
from kamrules.core.numeric import Money
from kamrules.syntax import ast


@attrs.define
class TeamData:
    """What build_team is given: the plan, the tables (the payees and reports_to only, after a
    columnar run), the payouts, the periods computed and those shown (--period), the values."""
    plan: object
    tables: dict
    payouts: list
    periods: list
    shown: list
    values: "FrameValues | None"
    frame: object = None  # the columnar run's payout frame (report/team_scale.py sums it)


def gather(session, select=None) -> TeamData:
    """The team page's data from one session (a run/session.Session): when the columnar
    engine runs the plan, one run of every payee and the values read from its columns, the
    payees' tables read alone (Session.payee_tables); else (the interpreter, the reference)
    the strict tables, the run of the payees `select(tables)` returns (None: all) and, when
    the plan has measures, their derivation trees, which hold the measures."""
    plan = session.check()
    measures = measures_of(plan)
    values, run = None, None
    if session.loads_frames():  # the columnar engine: not --engine interpreter, duckdb, ...
        shown = session.with_year_to_date()  # with --period: the earlier periods of the year too
        session.keep_values = True  # the run's columns are read after it (definition_values)
        run = session.execute()  # every payee (on the columnar engine, or handed to the interpreter)
        on_target = on_target_of(plan)
        values = frame_values(plan, session.definition_values(
            [m for m, _ in measures] + list(plan.components) + ([on_target] if on_target else [])),
            measures, on_target, session)
        tables = session.payee_tables() if values is not None else session.load()
    else:
        tables = session.load()
        shown = session.with_year_to_date()
    ids = select(tables) if select is not None else None
    if values is not None:
        return TeamData(plan, tables, run.payouts, session.periods(), shown, values, getattr(run, "table", None))
    if run is None:
        run = session.execute(ids)
    payouts = run.payouts
    if measures:  # the measures are read from the derivation trees, the amounts are the run's
        trees = {(p.payee_id, p.period, p.component): p.trace
                 for p in session.trace(ids or {r.id for r in tables[plan.payees_table].rows})}
        payouts = [attrs.evolve(p, trace=trees.get((p.payee_id, p.period, p.component))) for p in payouts]
    return TeamData(plan, tables, payouts, session.periods(), shown, None)


def measures_of(plan) -> list:
    from kamrules.report.team import measures_of as of
    return of(plan)


# calls whose arguments after the first are evaluated only sometimes (default's fallback)
_LAZY_TAIL = {"default"}


def sure_reads(plan, name: str) -> tuple[set, set]:
    """(the definitions a definition reads on every evaluation, those it may read), through
    the lets it reads, never under `paid(...)` (earlier periods' payouts); a component's
    `when` counts (its tree holds the condition)."""
    sure, maybe = set(), set()
    todo = [(name, True)]
    seen = set()
    while todo:
        n, certain = todo.pop()
        if (n, certain) in seen:
            continue
        seen.add((n, certain))
        d = plan.definitions[n]
        exprs = [d.node.expr] + ([d.node.when] if d.kind == "component" and getattr(d.node, "when", None) else [])
        for e in exprs:
            for ref, on_every in _reads(plan, e, True):
                c = certain and on_every
                (sure if c else maybe).add(ref)
                if plan.definitions[ref].kind == "let":
                    todo.append((ref, c))
    return sure, maybe - sure


def _reads(plan, expr, certain: bool):
    """(definition name, read on every evaluation) of the names under expr."""
    if isinstance(expr, ast.Name):
        r = plan.resolution.get(id(expr))
        if r is not None and r[0] == "def":
            yield r[1], certain
        return
    if isinstance(expr, ast.Call) and expr.func == "paid":
        return
    if isinstance(expr, ast.IfElse):
        yield from _reads(plan, expr.cond, certain)
        yield from _reads(plan, expr.then, False)
        yield from _reads(plan, expr.else_, False)
        return
    if isinstance(expr, ast.BinOp) and expr.op in ("and", "or"):
        yield from _reads(plan, expr.left, certain)
        yield from _reads(plan, expr.right, False)
        return
    if isinstance(expr, ast.Where):
        yield from _reads(plan, expr.source, certain)
        yield from _reads(plan, expr.cond, False)
        return
    if isinstance(expr, (ast.Each, ast.By)):
        for f in ("source", "rows"):
            if hasattr(expr, f):
                yield from _reads(plan, getattr(expr, f), certain)
        for f in _fields(expr):
            if f not in ("source", "rows"):
                yield from _reads_of(plan, getattr(expr, f), False)
        return
    if isinstance(expr, ast.Call) and expr.func in _LAZY_TAIL:
        for i, a in enumerate(expr.args):
            yield from _reads(plan, a, certain and i == 0)
        return
    for f in _fields(expr):
        yield from _reads_of(plan, getattr(expr, f), certain)


def _reads_of(plan, v, certain):
    for x in (v if isinstance(v, tuple) else (v,)):
        if hasattr(type(x), "__attrs_attrs__"):
            yield from _reads(plan, x, certain)


def _fields(node) -> list:
    t = type(node)
    return [f.name for f in getattr(t, "__attrs_attrs__", ()) if f.name != "span"]


def _calls_share(plan, names) -> bool:
    from kamrules.report import words
    return any(words.find_nodes(plan.definitions[n].node.expr, lambda x: isinstance(x, ast.Call)
                                and x.func == "share") for n in names)


def frame_values(plan, values, measures: list, on_target: str | None, session) -> "FrameValues | None":
    """The team page's values from a columnar run (`values`: Session.definition_values), or
    None when the page must read the interpreter's trees (module doc). session: the run's
    Session, asked for the interpreter's values where the frame does not decide them."""
    if values is None:
        return None
    names = {m for m, _ in measures}
    reads = {}
    for c in plan.components:
        sure, maybe = sure_reads(plan, c)
        if names & maybe:
            return None
        reads[c] = (sure & names, _calls_share(plan, sure | maybe | {c}))
    return FrameValues(plan, values, reads, [m for m, _ in measures] + ([on_target] if on_target else []),
                       session)


class _Ctx:
    __slots__ = ("payee", "period")

    def __init__(self, payee, period):
        self.payee, self.period = payee, period


class FrameValues:
    """The frame's values per (payee id, calculation period), answering as the Evaluator."""

    def __init__(self, plan, values, reads: dict, names: list, session):
        from kamrules.backends.polars.values import period_key
        self.plan, self.reads, self.session, self._ev, self._light, self._trees = plan, reads, session, None, None, {}
        self._subs: dict = {}  # payment period -> the keys of its calculation periods
        self.handed = set(values.handed_over)
        self.key = period_key
        t = values.table
        kinds = {n: plan.definitions[n].type.kind for n in names if n in t.columns}
        # a money value's currency: its type's (`Money[EUR]`), else the payee's pay currency
        fixed = {n: _code(plan, plan.definitions[n].type.currency) for n in kinds}
        cols = ["payee_id", "period", "eligible", "eligible!"] + [f"applies.{c}" for c in plan.components
                                                                     if f"applies.{c}" in t.columns]
        vals = list(kinds)
        # a component's place among the applies.* cells of a row
        self.applies = {c[len("applies."):]: i for i, c in enumerate(cols[4:])}
        self.kinds, self.names, self.codes = kinds, vals, values.pay_codes
        self.periods = values.periods
        self.fixed, self.table = fixed, values.table
        self._cols = cols + [c for n in vals for c in (n, f"{n}!")]
        self.rows: dict = {}  # (payee id, period key) -> its cells, converted on first use (load)
        self._loaded: set | None = set()  # the (payee, period key) rows converted (None: every row)

    def load(self, keys=None) -> None:
        """Convert the frame's rows of the (payee id, period key) pairs `keys` (None: every row)
        to Python values: a page that shows a thousand payees of 100,000 converts theirs only
        (report/team_scale.py)."""
        import polars as pl
        if self._loaded is None:
            return
        if keys is not None:
            keys = set(keys) - self._loaded
            if not keys:
                return
            ids, pks = zip(*sorted(keys))
            t = self.table.join(pl.DataFrame({"payee_id": list(ids), "period": list(pks)},
                                             schema={"payee_id": pl.String, "period": pl.String}),
                                on=["payee_id", "period"], how="semi")
        else:
            t = self.table
        cur, kinds, fixed, vals = _code(self.plan, self.plan.currency), self.kinds, self.fixed, self.names
        width = len(self._cols) - 2 * len(vals)
        for row in t.select(self._cols).iter_rows():
            got = {}
            for i, n in enumerate(vals):
                v, bad = row[width + 2 * i], row[width + 2 * i + 1]
                got[n] = None if bad or v is None else _python(v, kinds[n], fixed[n] or self.codes.get(row[0], cur))
            self.rows[(row[0], row[1])] = (row[2], row[3], got, row[4:width])
        if keys is None:
            self._loaded = None
        else:
            self._loaded |= keys

    def _get(self, payee_id: str, key):
        if self._loaded is not None and (payee_id, key) not in self._loaded:
            self.load()  # a row not asked for beforehand: every row, once
        return self.rows.get((payee_id, key))

    # ---- the Evaluator's questions (report/team.py _why_none, _value)
    def context(self, payee, period):
        return _Ctx(payee, period)

    def _row(self, ctx):
        if ctx.payee.id in self.handed:
            return None
        return self._get(ctx.payee.id, self.key(ctx.period))

    def fallback(self, name: str | None = None):
        """The interpreter's Evaluator: on the payees' tables for a param (a constant), else
        on every table (the strict loader), built on first use."""
        from kamrules.backends.interp.evaluator import Evaluator
        if name is not None and self.plan.definitions[name].kind == "param":
            if self._light is None:
                self._light = Evaluator(self.plan, self.session.payee_tables(), trace=False)
            return self._light
        if self._ev is None:
            self._ev = Evaluator(self.plan, self.session.load(), trace=False)
        return self._ev

    def traced(self, payee_id: str, period, items) -> list:
        """The payouts `items` with the interpreter's trees (Session.trace of that payee)."""
        trees = self._trees.get(payee_id)
        if trees is None:
            trees = self._trees[payee_id] = {(p.period, p.component): p.trace
                                             for p in self.session.trace({payee_id})}
        return [attrs.evolve(p, trace=trees.get((p.period, p.component))) for p in items]

    def is_eligible(self, ctx) -> bool:
        row = self._row(ctx)
        if row is None:
            ev = self.fallback()
            return ev.is_eligible(ev.context(ctx.payee, ctx.period))
        if row[1]:
            raise LookupError("eligibility not computed")
        return bool(row[0])

    def definition(self, ctx, name):
        row = self._row(ctx)
        if row is None or name not in row[2]:
            ev = self.fallback(name)
            return ev.definition(ev.context(ctx.payee, ctx.period), name)
        v = row[2][name]
        if v is None:
            raise LookupError(name)
        return v

    # ---- the measures of a payout (report/team.py _traced_measures on the trees)
    def measures(self, payee, period, items) -> tuple[dict, bool] | None:
        """(measure -> value, whether a pool is read) of the payouts `items` of one payee and
        period; None for a payee the frame does not decide (its trees are read: traced)."""
        keys = self._subs.get(period)
        if keys is None:
            keys = self._subs[period] = [self.key(c) for c in period.subperiods(self.plan.period_kind)]
        rows = [self._get(payee.id, k) for k in keys]
        if payee.id in self.handed or any(r is None for r in rows):
            return None
        found, mixed, pooled = {}, set(), False
        for p in items:
            sure, shares = self.reads.get(p.component, (set(), False))
            pooled = pooled or shares
            parts = rows if len(rows) == 1 else [r for r in rows if r[3][self.applies[p.component]]]
            for r in parts:
                for name in sure:
                    v = r[2].get(name)
                    if name in found and found[name] != v:
                        mixed.add(name)
                    found.setdefault(name, v)
        return {n: (None if n in mixed else v) for n, v in found.items()}, pooled


def _code(plan, currency):
    """A type's currency when it is a code (`Money[EUR]`), None for the payee's (`payee.COLUMN`)."""
    from kamrules.core.currencies import payee_column
    return currency if isinstance(currency, str) and payee_column(currency) is None else None


def _python(v, kind: str, currency):
    """A frame's value as the interpreter gives it: money as Money (in the payee's pay
    currency), a count as an int, a number with no trailing zeros beyond its digits."""
    if kind == "count":
        return int(v)
    if not isinstance(v, Decimal):
        return v
    n = v.normalize()
    if n.as_tuple().exponent > 0:
        n = n.quantize(Decimal(1))
    return Money(n, currency) if kind == "money" else n
