"""Payout statements: one payee's pay for one or more periods, explained for that payee.

`build_statement` turns the traced payouts and the checked plan into a `Statement` (plain
data, every number still exact): who (name and role from the payees table), each period's
headline (earned, the on-target variable and its %, year to date), each component in one
sentence of business words with the rows credited to it (date, account, amount), what more
business would pay (report/whatif.py: the engine re-run, never a linear guess), the curves
read (report/curves.py), and the derivation for auditors (report/derivation.py). Rendering:
report/statement_html.py (html) and report/statement_text.py (md, text), in a locale
(report/i18n.py). The same inputs give byte-identical output (no clock, stable order).
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import re
from decimal import Decimal

import attrs

from kamrules.check.lint import on_target_of  # the plan's on-target variable, by its name
from kamrules.check.lint import NAME_COLUMNS, ROLE_COLUMNS  # the payee's name and role columns
from kamrules.version import __version__

from kamrules.backends.interp.arith import Problem
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.report.words import Said, Shown, Val, find_nodes
from kamrules.trace.tree import span_text
from kamrules.report.statement_text import HELD
from kamrules.core.numeric import CONTEXT, Money
from kamrules.report import i18n, rows_tables, whatif, whatif_count, whatif_rows, whatif_zero
from kamrules.report.curves import curves, decide_at
from kamrules.report.derivation import absent_reason, own_rows, steps
from kamrules.report.payouts import run_meta




@attrs.define
class ComponentView:
    name: str
    amount: Money
    steps: list
    curves: list
    credited: list = attrs.Factory(list)  # [rows_tables.Credited]
    effects: list = attrs.Factory(list)  # [whatif.Effect] that pay more
    zero_effects: list = attrs.Factory(list)  # [whatif.Effect] of measures at zero (report/whatif_zero.py)
    left_out: list = attrs.Factory(list)  # [(filter name, [(date, account, row id, amount, reason)])]
    measures: list = attrs.Factory(list)  # [whatif.Measure]
    zero_reason: tuple | None = None  # why a zero: ("curve", CurveView) or (message id, {})
    ratios: list = attrs.Factory(list)  # [Ratio]: the divisions behind the component, with their inputs
    pools: list = attrs.Factory(list)  # [PoolWeight]: the payee's weight in each pool the component shares
    no_what_if: list = attrs.Factory(list)  # [(measure, day)]: measures taken on one day, offered no what-if
    row_hints: list = attrs.Factory(list)  # [whatif_rows.RowHint] that pay more: a row at a better table row
    count_effects: list = attrs.Factory(list)  # [whatif.Effect] of counts: N more rows (report/whatif_count.py)


@attrs.define
class Ratio:
    """A let that divides two values (`rire = territory_evolution / france_evolution`): both
    sides as the plan writes them and their values for this payee and period."""
    name: str
    numerator: str
    denominator: str
    num: object
    den: object
    value: object
    unit: str | None = None


@attrs.define
class PoolWeight:
    """The payee's weight in a pool (`share(pool, payee.weight * presence, by payee.team)`): the
    weight as the plan writes it, its factors' values, and each prorate factor's days."""
    expr: str
    factors: list  # [(value, unit)] of the factors of a product, in order ([] for one factor)
    value: object
    prorates: list  # [(name, call as written, active days, period's days, first day, last day, value)]
    pool: str = ""  # the pool as written (`envelope`), and its value
    pool_value: object = None
    total: object = None  # the sum of the weights of the pool, as the run traced it (words.Shown), or None


@attrs.define
class PeriodView:
    period: str
    start: object
    end: object
    total: Money
    components: list
    paid: list  # sentences
    absent: list  # sentences: components that did not apply, and why
    not_eligible: str | None = None
    on_target: Money | None = None
    ytd: Money | None = None  # this period and the earlier ones of its year in the statement
    ytd_from: str | None = None  # the first period counted in ytd
    ytd_target: Money | None = None
    year_target: Money | None = None  # the on-target variables of every period of the year
    hidden: list = attrs.Factory(list)  # components that cannot apply to this payee
    held: Money | None = None  # earned this period, held (`hold when`) for a later one
    released: Money | None = None  # held in earlier periods, paid in this one (in `total`)
    ineligible: list = attrs.Factory(list)  # why: [(test's text, its value, [(operand, value, unit)])]

    @property
    def earned(self) -> Money:
        """What the period's components computed: paid, less what was released, plus what
        was held (holds.pay_held)."""
        out = self.total.amount
        out -= self.released.amount if self.released is not None else 0
        out += self.held.amount if self.held is not None else 0
        return Money(out, self.total.currency)


@attrs.define
class Statement:
    plan_name: str
    plan_version: str | None
    plan_file: str
    plan_sha256: str
    inputs: list  # [(name, file, sha256)]
    payee_id: str
    payee_name: str | None
    currency: str
    periods: list
    role: str | None = None
    lang: str = i18n.DEFAULT
    on_target_name: str | None = None  # the plan's on-target definition, None when none
    ledger: object | None = None  # the payee's ledger history (ledger.history.PayeeHistory), with --ledger
    kamrules_version: str = __version__

    @property
    def locale(self) -> i18n.Locale:
        return i18n.get(self.lang)


class Shared:
    """What the statements of many payees share: run meta, row lookups, names."""

    def __init__(self, plan, tables, plan_path: str, meta: dict | None = None, what_if: bool = True,
                 rerun_tables=None):
        """rerun_tables(payee) -> the tables the what-ifs of that payee re-run on (the rows the
        payee can reach, so that a re-run costs their rows, not the whole data); default: all."""
        self.plan, self.tables = plan, tables
        self.rerun_tables = rerun_tables or (lambda payee: tables)
        self.meta = meta or run_meta(plan_path, plan.name, plan.version, tables, __version__)
        self._rows: dict = {}
        self.labels = payee_labels(plan, tables)
        self.what_if = what_if
        self.batch = None  # a whatif_batch.Batch: the what-ifs of many payees re-run together
        self.on_target = on_target_of(plan)

    def what_ifs(self, payee, period) -> whatif.WhatIf:
        """One WhatIf per payee and period (its components share the re-runs)."""
        key = (payee.id, period)
        if getattr(self, "_what_if_key", None) != key:
            self._what_if_key = key
            self._what_if = whatif.WhatIf(self.plan, self.rerun_tables(payee), payee, period, row_at=self.row_at)
        return self._what_if

    def row_at(self, table: str, number: int):
        idx = self._rows.get(table)
        if idx is None:
            idx = self._rows[table] = {r.number: r for r in self.tables[table].rows}
        return idx[number]


def payee_labels(plan, tables) -> dict:
    """payee id -> (name, role): declared columns, else the `name`/`role` columns of the
    payees CSV by convention (read from the file the plan reads)."""
    table = tables[plan.payees_table]
    cols = table.spec.columns
    name_col = next((c for c in NAME_COLUMNS if c in cols), None)
    role_col = next((c for c in ROLE_COLUMNS if c in cols), None)
    out = {r.id: (r.values.get(name_col) if name_col else None, r.values.get(role_col) if role_col else None)
           for r in table.rows}
    if (name_col and role_col) or not str(table.path).lower().endswith(".csv"):
        return out
    try:
        with open(table.path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            n = name_col or next((c for c in NAME_COLUMNS if c in fields), None)
            r_ = role_col or next((c for c in ROLE_COLUMNS if c in fields), None)
            key = table.spec.key or next(iter(cols))
            if n or r_:
                for row in reader:
                    pid = row.get(key)
                    if pid in out:
                        name, role = out[pid]
                        out[pid] = (name or (row.get(n) or None if n else None),
                                    role or (row.get(r_) or None if r_ else None))
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return out


def build_statement(plan, tables, payouts: list, payee_id: str, periods: list, plan_path: str,
                    meta: dict | None = None, payee=None, lang: str | None = None,
                    shared: Shared | None = None, shown: list | None = None) -> Statement:
    """shared (or meta) and payee, when given, spare the statements of many payees hashing
    the inputs and scanning the payees again. shown: the periods printed (--period), when
    `periods` also holds the earlier periods of their years: those count in the year to date."""
    with decimal.localcontext(CONTEXT):
        shared = shared or Shared(plan, tables, plan_path, meta)
        if payee is None:
            payee = next(r for r in tables[plan.payees_table].rows if r.id == payee_id)
        return _build(shared, payouts, payee, periods, lang or i18n.DEFAULT, shown)


def _build(sh: Shared, payouts, payee, periods, lang, shown=None):
    plan = sh.plan
    name, role = sh.labels.get(payee.id, (None, None))
    cur = next((p.currency for p in payouts if p.payee_id == payee.id), plan.currency)  # per payee's currency
    if shown is not None:  # the year's earlier periods: their totals and on-target variables only
        earlier = {period: _earlier_view(sh, payee, period, [p for p in payouts if p.payee_id == payee.id
                                                              and p.period == period], cur)
                   for period in periods if period not in shown}
        periods = [p for p in periods if p in shown]
    views = [_period_view(sh, payee, period, [p for p in payouts if p.payee_id == payee.id and p.period == period])
             for period in periods]
    # a component that paid in an earlier period of the year, not printed (--period), applies
    _hide(views, {p.component for p in payouts if p.payee_id == payee.id and p.amount != 0
                  and shown is not None and p.period not in shown})
    if shown is not None:
        every = sorted(list(earlier.items()) + list(zip(periods, views)), key=lambda x: x[0])
        _year_to_date([v for _, v in every], [p for p, _ in every], cur)
    else:
        _year_to_date(views, periods, cur)
    _year_targets(sh, payee, views, periods, cur)
    inputs = [(k, v["file"], v["sha256"]) for k, v in sh.meta["inputs"].items()]
    return Statement(plan.name, plan.version, sh.meta["plan"]["file"], sh.meta["plan"]["sha256"], inputs,
                     payee.id, name if isinstance(name, str) else None, cur, views,
                     role if isinstance(role, str) else None, lang, sh.on_target)


def _summed_rows(view) -> bool:
    """Whether an aggregation of the component's derivation adds up some of the payee's rows
    (`earned = sum(amount * rate for ...)` under a draw): then a zero is the plan's answer for
    this period, not a component that cannot apply."""
    return any(st.kind == "aggregate" and st.rows for st in view.steps)


def _hide(views, paid_before=frozenset()):
    """A component zero in every period, with no row credited, no curve read and no business
    that would make it pay (whatif_zero), cannot apply to this payee (a charter KAM's
    `ae_commission`): it is not shown, only named for auditors. paid_before: the components
    that paid in an earlier period of the year not printed (`--period 2025-05`): they apply."""
    shown = dict.fromkeys(paid_before, True)
    for pv in views:
        for c in pv.components:
            useful = c.amount.amount != 0 or c.credited or c.curves or _summed_rows(c) or c.zero_effects \
                or c.count_effects
            shown[c.name] = shown.get(c.name, False) or bool(useful)
    for pv in views:
        pv.hidden = [c.name for c in pv.components if not shown[c.name]]
        pv.components = [c for c in pv.components if shown[c.name]]


def _year_to_date(views, periods, currency):
    running, first, year, target = Decimal(0), None, None, Decimal(0)
    for pv, period in zip(views, periods):
        fy = getattr(period, "fiscal_year_start", period.start)
        if fy != year:
            running, first, year, target = Decimal(0), pv.period, fy, Decimal(0)
        running += pv.total.amount
        pv.ytd, pv.ytd_from = Money(running, currency), first
        if pv.on_target is not None and target is not None:
            target += pv.on_target.amount
            pv.ytd_target = Money(target, currency)
        else:
            target = None


def _year_targets(sh: Shared, payee, views, periods, currency):
    """Each period's year_target: the on-target variable summed over every calculation period
    of its (fiscal) year, whether in the statement or not (2025-Q1 of a quarterly plan: the
    four quarters of 2025); None when the plan declares none or a period's cannot be known."""
    if sh.on_target is None:
        return
    ev, years = None, {}
    for pv, period in zip(views, periods):
        if pv.on_target is None or period.kind != sh.plan.period_kind:
            continue
        year = period.containing("year")
        if year not in years:
            ev = ev or Evaluator(sh.plan, sh.tables, trace=False)
            total = Decimal(0)
            for p in year.subperiods(period.kind):
                try:
                    v = ev.definition(ev.context(payee, p), sh.on_target)
                except (Problem, LookupError, TypeError, ArithmeticError):
                    v = None
                if not isinstance(v, Money):
                    total = None
                    break
                total += v.amount
            years[year] = None if total is None else Money(total, currency)
        pv.year_target = years[year]


def _earlier_view(sh: Shared, payee, period, items, currency) -> PeriodView:
    """An earlier period of the year, not printed: its total and on-target variable, for the
    year to date of the periods shown."""
    on_target = None
    if sh.on_target is not None and period.kind == sh.plan.period_kind:
        ev = Evaluator(sh.plan, sh.tables, trace=False)
        try:
            ctx = ev.context(payee, period)
            v = ev.definition(ctx, sh.on_target) if ev.is_eligible(ctx) else None
            on_target = v if isinstance(v, Money) else None
        except (Problem, LookupError, TypeError, ArithmeticError):
            pass
    total = Money(sum((p.amount for p in items), Decimal(0)), currency)
    return PeriodView(str(period), period.start, period.end, total, [], [], [], None, on_target)


def _period_view(sh: Shared, payee, period, items) -> PeriodView:
    plan, tables = sh.plan, sh.tables
    total = Money(sum((p.amount for p in items), Decimal(0)), items[0].currency if items else plan.currency)
    calc = period.kind == plan.period_kind  # one calculation period: what-ifs make sense
    comps, paid = [], {}
    ev = Evaluator(plan, tables, trace=False)
    where = (ev, payee, period) if calc else None
    if calc and not whatif.pooled(plan):  # the run's values, not evaluated again
        memo = ev.context(payee, period).memo
        for p in items:
            whatif.seed(memo, p.trace)
    own = own_rows(p.trace for p in items)  # rows of a set selected for everyone: only the payee's listed
    for p in items:
        st, cvs = [], []
        if p.trace is not None:
            steps(plan, p.trace, 0, st, set(), paid, where, own)
            if calc:
                cvs = curves(plan, tables, payee, period, p, ev)
        view = ComponentView(p.component, Money(p.amount, p.currency), st, cvs)
        if p.trace is not None:
            if calc:  # before _credit: a zero's reason may be the payee's weight in a pool
                view.pools = _pool_weights(plan, ev, ev.context(payee, period), p.component, p.trace)
            _credit(sh, view, p, payee, period, calc, ev)
            if calc:
                rows_tables.left_out(sh, view, ev, ev.context(payee, period))
                view.ratios = _ratios(plan, ev, ev.context(payee, period), p.component)
        comps.append(view)
    absent, not_eligible, on_target, ineligible = [], None, None, []
    if calc:
        ctx = ev.context(payee, period)
        rows_tables.left_inside(sh, comps, ev, ctx)
        try:
            if not ev.is_eligible(ctx):
                not_eligible = plan.eligible
                ineligible = _ineligible(ev, ctx)
            else:
                shown = {p.component for p in items}
                absent = [absent_reason(plan, ev, ctx, n) for n in plan.components
                          if n not in shown and not ev.component_exists(ctx, n)]
                if sh.on_target is not None:
                    v = ev.definition(ctx, sh.on_target)
                    on_target = v if isinstance(v, Money) else None
        except (Problem, LookupError, TypeError, ArithmeticError):
            pass
    held, released = _holds(items, total.currency)
    return PeriodView(str(period), period.start, period.end, total, comps, [paid[k] for k in sorted(paid)],
                      absent, not_eligible, on_target, held=held, released=released, ineligible=ineligible)


def _ineligible(ev, ctx) -> list:
    """Why the payee is not eligible in ctx's period: each test of `eligible when` the
    evaluation reached (as explain shows them: backends/interp/conditions), with its value and
    the data it read: [(test's text, value, [(operand, value, unit)])]."""
    node = ev.eligible_trace(ctx)
    if node is None:
        return []
    tests = [c for c in node.children if c.kind == "condition"] or [node]
    return [(t.name if t is not node else span_text(ev.plan.source, node.span), bool(t.value),
             [(o.name, o.value, o.unit) for o in t.children if o.kind == "operand"]) for t in tests]


def _holds(items, currency) -> tuple:
    """(held, released) of a period's payouts, each None when no component holds or
    releases: the trace's branches `held: X paid later` and `released: X held in earlier
    periods` (backends/interp/holds.pay_held)."""
    held = released = None
    for p in items:
        amount = _held(p)
        if amount is not None:
            held = Money((held.amount if held else 0) + amount.amount, currency)
        branch = (p.trace.branch or "") if p.trace is not None else ""
        if branch.startswith("released: "):
            carry = Decimal(branch.split()[1])
            released = Money((released.amount if released else 0) + carry, currency)
    return held, released


def _credit(sh: Shared, view: ComponentView, payout, payee, period, calc: bool, ev):
    """The rows each aggregation credits, what more business would pay, and why a zero."""
    ms = view.measures = whatif.measures_over(sh.plan, payout.trace, sh.tables, sh.row_at)
    for m in ms:
        m.target = _row_in_period(sh, m, period)
    for m in ms:
        if not m.formula:  # a formula's rows are shown with what their credit is made of (_other_rows)
            view.credited.append(rows_tables.credited(sh, m, ev, ev.context(payee, period)))
    rows_tables.other_rows(sh, view, payout.trace, ms, ev, ev.context(payee, period))
    asked = 0  # measures of the period's business asked what more pays
    if calc and sh.what_if and ms:
        tiers = whatif.tiers(sh.plan, view.curves)
        for m in ms:
            day = whatif.snapshot_day(sh.plan, sh.tables, m, ev, ev.context(payee, period))
            if day is not None:  # a portfolio on the quarter's first day: business added later never counts
                view.no_what_if.append((m.name, day))
                continue
            asked += 1
            if m.formula:  # the row in words, and the rows a better table row would pay more
                ctx = ev.context(payee, period)
                m.like = whatif_rows.like(sh.plan, m, sh.row_at, ev, ctx)
                _row_hints(sh, view, payout, payee, period, m, ev, ctx)
            if sh.batch is not None:  # re-run later, with every payee's (pages.statements)
                sh.batch.add(payee.id, period, payout, m, tiers, view.effects)
                continue
            try:
                found = whatif.effects(sh.what_ifs(payee, period), payout, m, tiers)
            except (Problem, LookupError, TypeError, ArithmeticError):
                continue
            view.effects += [e for e in found if e.gain > 0]
    if calc and sh.what_if and not asked:
        # no row of the period's business credited to the component (a KAM at zero): what the
        # first business would pay, on a row added to each measure and re-run (report/whatif_zero.py)
        tiers = whatif.tiers(sh.plan, view.curves)
        ctx = ev.context(payee, period)
        for m in whatif_zero.zero_measures(sh.plan, payout.trace, sh.tables):
            if whatif.snapshot_day(sh.plan, sh.tables, m, ev, ctx) is not None:
                continue
            try:
                found = whatif_zero.effects(sh.plan, sh.tables, sh.rerun_tables(payee), payee, period, payout, m,
                                            tiers, ev)
            except (Problem, LookupError, TypeError, ArithmeticError):
                continue
            view.zero_effects += [e for e in found if e.gain > 0]
    if calc and sh.what_if:  # one more row of each count, re-run by the engine
        whatif_count.ask(sh, view, payout, payee, period, ev)
    if view.amount.amount == 0:
        why = next((c for c in view.curves if c.why_not), None)
        branch = (_branch_reason(view.steps) or _limit_reason(view.steps)) if why is None else None
        held = _held(payout)
        if held is not None:  # earned, not paid: `hold when` defers it (the rows did pay something)
            view.zero_reason = ("said", Said(HELD, dict(amount=Val(held))))
        elif why is not None:
            view.zero_reason = ("curve", why)
        elif branch is not None:  # an if-branch that pays nothing, whatever the rows
            view.zero_reason = branch
        elif view.pools and all(w.value is None or w.value == 0 for w in view.pools):  # share(pool, weight)
            view.zero_reason = ("your weight in the pool is empty or 0: a share goes only to a weight above 0", {})
        elif not any(c.rows for c in view.credited) and not _summed_rows(view):
            view.zero_reason = ("no row credited to you this period", {})
        else:
            view.zero_reason = ("the rows credited add up to a result that pays nothing", {})


def _held(payout) -> Money | None:
    """The amount a period earned and held (`hold when` true: the trace's branch `held: X paid
    later` over the component as computed), or None."""
    t = payout.trace
    if t is None or not (t.branch or "").startswith("held: "):
        return None
    inner = next((c for c in t.children if c.kind == "component" and isinstance(c.value, Money)), None)
    return inner.value if inner is not None and inner.value.amount != 0 else None


def _row_hints(sh: Shared, view: ComponentView, payout, payee, period, m, ev, ctx):
    """What the credited rows of a formula measure would have paid at a better row of the
    decision table their formula reads (report/whatif_rows.py), each re-run by the engine."""
    found = whatif_rows.hints(sh.plan, m, sh.row_at, ev, ctx, MAX_ROWS)
    if sh.batch is not None:
        for h in found:
            sh.batch.ask(payee.id, period, payout, h.measure, whatif_rows.ask(h, payout.component, payout.amount),
                         view.row_hints)
    elif found:
        view.row_hints += whatif_rows.effects(sh.what_ifs(payee, period), payout, found)


def _limit_reason(steps_: list):
    """("said", note) when a floor or a cap of the component's own line made it zero
    (`max(0 EUR, monthly_guarantee - earned)`: the floor applies, the difference is negative)."""
    note = next((x for x in steps_[0].notes if x.msgid.startswith(("line {line}: the floor", "line {line}: the cap"))),
                None) if steps_ else None
    return None if note is None else ("said", note)


def _row_in_period(sh: Shared, m, period):
    """The largest credited row dated in the period, if any: a what-if adds the business there
    ("X more before the period's end"), never to a row of an earlier period, whose own pay a
    `paid(...)` of this period would take back (a year-to-date catch-up)."""
    here = [r for r in m.rows if any(isinstance(v, dt.date) and period.start <= v <= period.end
                                     for v in sh.row_at(r.table, r.row).values.values())]
    return max(here, key=lambda r: r.contribution.amount) if here else None


_COMPARED = re.compile(r"(\w+)\s*(>=|<=|>|<|==|!=)\s*(\w+)")


def _branch_reason(steps_: list):
    """("said", words.Said) when the component chose an if-branch that pays nothing: the
    condition, and the values of its two sides when each is a definition the derivation shows
    (`team_bookings >= team_target` is false: team_bookings is 49,999.99, team_target 50,000.00)."""
    if not steps_:
        return None
    note = next((x for x in steps_[0].notes if x.msgid.startswith("line {line}: `{condition}` is")), None)
    if note is None:
        return None
    cond = note.values["condition"]
    m = _COMPARED.fullmatch(cond)
    shown = {st.name: st.sentence.values.get("value") for st in steps_[1:] if st.kind in ("let", "param")}
    if m and shown.get(m.group(1)) is not None and shown.get(m.group(3)) is not None:
        return ("said", Said("`{condition}` is false: {left} is {left_value}, {right} is {right_value}"
                             if note.msgid.endswith("`else` branch applies") else
                             "`{condition}` is true: {left} is {left_value}, {right} is {right_value}",
                             dict(condition=cond, left=m.group(1), left_value=shown[m.group(1)],
                                  right=m.group(3), right_value=shown[m.group(3)])))
    return ("said", note)


def _ratios(plan, ev, ctx, component: str) -> list:
    """The lets the component reads (directly or through other lets) that divide one value by
    another, outermost first, each with its numerator and denominator evaluated (the run's
    values: the context is seeded from the trace)."""
    lowered = ir_of(plan).definitions
    out, seen, todo = [], set(), [lowered[component].node.expr]
    while todo:
        expr = todo.pop(0)
        for n in _names_in(expr):
            if n in seen or n not in lowered or lowered[n].kind != "let":
                continue
            seen.add(n)
            e = lowered[n].node.expr
            if isinstance(e, ir.BinOp) and e.op == "/":
                try:
                    a, b = ev.ev(e.left, ctx, ()), ev.ev(e.right, ctx, ())
                    v = ev.definition(ctx, n)
                except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
                    continue
                out.append(Ratio(n, _side(plan, e.left, "+-"), _side(plan, e.right, "+-*/"), a, b, v,
                                 plan.definitions[n].type.kind if n in plan.definitions else None))
            todo.append(e)
    return out


def _pool_weights(plan, ev, ctx, component: str, trace) -> list:
    """The payee's weight in each pool the component shares (`share(total, weight, ...)`): the
    pool and its value, the weight and the sum of the pool's weights (the trace's `weight 1 of
    2`); when the weight is a product or prorated, each factor's value, and for a prorate
    (written in the weight or in a let it names) the days counted."""
    lowered = ir_of(plan).definitions
    expr = lowered[component].node.expr
    known = _SHARES.get(id(expr))
    if known is None or known[0] is not expr:  # found once per plan, not per payee
        known = _SHARES[id(expr)] = (expr, find_nodes(expr, lambda n: isinstance(n, ir.Call) and n.func == "share"))
    calls = known[1]
    if not calls:
        return []
    out = []
    totals = [_WEIGHT.match(n.branch or "") for n in trace.walk() if n.kind == "share"] if trace is not None else []
    for call in calls:
        if len(call.args) < 2:
            continue
        w = call.args[1]
        factors = _factors(w)
        prorates = []
        for f in factors:
            name = f.ref[1] if isinstance(f, ir.Name) and f.ref and f.ref[0] == "def" else None
            e = lowered[name].node.expr if name is not None and lowered[name].kind == "let" else f
            if isinstance(e, ir.Call) and e.func == "prorate" and len(e.args) == 2:
                prorates.append((name, e))
        try:
            values = [(ev.ev(f, ctx, ()), f.type.kind if f.type is not None else None) for f in factors]
            days = [(name, span_text(plan.source, e.span), *_prorate_days(ctx.period, *(ev.ev(a, ctx, ()) for a in e.args)))
                    for name, e in prorates]
            value, pool = ev.ev(w, ctx, ()), ev.ev(call.args[0], ctx, ())
        except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
            continue
        total = totals[0] if len(calls) == 1 and len(totals) == 1 else None  # whose note is whose: one share only
        out.append(PoolWeight(span_text(plan.source, w.span), values if len(factors) > 1 else [], value, days,
                              span_text(plan.source, call.args[0].span), pool,
                              Shown(total.group(1)) if total is not None else None))
    return out


_WEIGHT = re.compile(r"weight \S+ of (\S+)")
_SHARES: dict = {}  # id(component expression) -> (expression, its share() calls)


def _factors(node) -> list:
    """The factors of a product as written (`a * b * c`: [a, b, c]), else [node]."""
    if isinstance(node, ir.BinOp) and node.op == "*":
        return _factors(node.left) + _factors(node.right)
    return [node]


def _prorate_days(period, start, end) -> tuple:
    """(active days, period's days, first day, last day, fraction) as prorate() counts them: both
    ends counted, an empty end the period's end (backends/interp/calls.py)."""
    lo = max(period.start, start) if start is not None else period.start
    hi = min(period.end, end) if end is not None else period.end
    total = (period.end - period.start).days + 1
    active = max(0, (hi - lo).days + 1)
    return active, total, lo, hi, Decimal(active) / Decimal(total)


def _names_in(expr) -> list:
    known = _NAMES.get(id(expr))
    if known is None or known[0] is not expr:
        found = [n.ref[1] for n in find_nodes(expr, lambda x: isinstance(x, ir.Name))
                 if n.ref and n.ref[0] == "def"]
        known = _NAMES[id(expr)] = (expr, list(dict.fromkeys(found)))
    return known[1]


_NAMES: dict = {}  # id(expression) -> (expression, the definitions it names, in order)


def _side(plan, node, loose: str) -> str:
    """A side of a division as written, in parentheses when its operator binds less."""
    text = span_text(plan.source, node.span)
    return f"({text})" if isinstance(node, ir.BinOp) and node.op in loose else text


MAX_ROWS = 25

__all__ = ["Statement", "Shared", "build_statement", "decide_at", "render", "payee_labels"]


def render(st: Statement, fmt: str) -> str:
    from kamrules.report import statement_html, statement_text
    if fmt == "html":
        return statement_html.render_html(st)
    if fmt == "md":
        return statement_text.render_md(st)
    return statement_text.render_text(st)
