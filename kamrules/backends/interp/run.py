"""The run: which periods to compute, then every payee x period x component, in order.

Periods come from `--period` (repeatable) or from the data: every period of the plan's
calendar that a row reaches through a filter placing rows in periods (discovery.py), from
the first to the last. Earlier periods are computed as needed for `paid(...)`, but only the
asked periods are returned.
"""
from __future__ import annotations

import datetime as dt
import decimal
import re

import attrs

from kamrules.core.calendar import Period, parse_period, period_of, periods_between
from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.diagnostics.source import Span
from kamrules.check.plan import CheckedPlan
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.core.limits import period_range_problem
from kamrules.core.numeric import CONTEXT, Money
from kamrules.core.history import NONE, History
from kamrules.trace.tree import Payout, TraceNode
from kamrules.backends.interp.arith import Problem, fail
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.core.calendar import period_attr
from kamrules.backends.interp.integrity import check_integrity
from kamrules.backends.interp.holds import held_components, pay_held


def plan_periods(plan: CheckedPlan | ir.Plan, tables: dict | None, period=None, values=None) -> list[Period]:
    """The periods to report: payment periods when the plan pays less often than it computes.

    period: None (every period the data reaches), a label or a list of labels (--period,
    repeatable); values(table, column): the distinct values of a column (default: read from
    `tables`), so the columnar engine can feed its frames' values.
    """
    if values is None:
        values = _row_values(tables)
    calc = _calc_periods(plan, values, period)
    if plan.payment_kind and plan.payment_kind != plan.period_kind:
        return sorted({p.containing(plan.payment_kind) for p in calc})
    return calc


def _row_values(tables):
    def values(table, column):
        return {r.values[column] for r in tables[table].rows} - {None}
    return values


# The most calculation periods the data may span when no --period is given (a century):
# beyond, a date is mistyped (2999 for 2025, a 9999-12-31 "no end" sentinel) and the run would
# compute and print thousands of empty periods for minutes; it stops with KR418 instead.
MAX_DATA_YEARS = 100
_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


def _calc_periods(plan: CheckedPlan | ir.Plan, values, period) -> list[Period]:
    if period is None or period == []:
        periods = data_periods(plan, values)
        if len(periods) > MAX_DATA_YEARS * _PER_YEAR[plan.period_kind]:
            raise _too_long(plan, values, periods)
        return periods
    labels = [period] if isinstance(period, str) else list(dict.fromkeys(period))
    kind, fiscal = plan.payment_kind or plan.period_kind, plan.fiscal_start
    asked = {}
    for label in labels:
        try:
            p = parse_period(label, fiscal)
        except ValueError as err:
            raise KamError([Diagnostic("KR002", f"--period: {err}",
                                       hint="e.g. --period 2025-Q1 for a quarterly plan")]) from None
        beyond = period_range_problem(p)
        if beyond:
            raise KamError([Diagnostic("KR002", f"--period {label} {beyond}",
                                       hint="e.g. --period 2025-Q1 for a quarterly plan")])
        order = ("month", "quarter", "year")
        if order.index(p.kind) < order.index(kind):
            how = (f"computes by {plan.period_kind} and pays by {kind} (`payment {kind}`)"
                   if plan.payment_kind and plan.payment_kind != plan.period_kind else f"computes by {kind}")
            raise KamError([Diagnostic("KR002", f"--period {label} is a {p.kind} but the plan {how}",
                                       hint=f"give a {kind} or a longer period")])
        asked[label] = p.subperiods(kind)
    _check_in_data(plan, values, asked)
    return sorted({p for parts in asked.values() for p in parts})


def _too_long(plan, values, periods: list[Period]) -> KamError:
    """KR418: the data's dates span more than MAX_DATA_YEARS; names each placing column with
    its earliest and latest date, the far one first."""
    cols, spans = {}, {}
    for pl in plan.discovery:
        vals = [v.start if isinstance(v, Period) else v for v in values(pl.table, pl.column)
                if isinstance(v, (Period, dt.date))]
        if vals:
            cols[f"{pl.table}.{pl.column}"] = (min(vals), max(vals))
            spans.setdefault(f"{pl.table}.{pl.column}", pl.span)
    spread = sorted(cols.items(), key=lambda kv: kv[1][0] - kv[1][1])
    shown = "; ".join(f"{name} from {lo} to {hi}" for name, (lo, hi) in spread[:3])
    return KamError([Diagnostic(
        "KR418", f"the data's dates reach from {periods[0].label} to {periods[-1].label}: {len(periods)} "
        f"{plan.period_kind}s to compute, more than {MAX_DATA_YEARS} years ({shown})",
        spans.get(spread[0][0]) if spread else None,  # the filter that places the far column
        hint=f"a mistyped date (2999 for 2025) or a far 'no end' date? fix it in the export, or pass "
             f"--period (e.g. --period {periods[0].start.year})")])


def _check_in_data(plan, values, asked: dict):
    """KR721: a --period with nothing of the data in it (when the data's periods are known),
    unless a component pays without reading rows (a presence bonus of payee columns and
    params): that period pays it. The data's span is counted in whole years: a period of a
    year the data reaches is computed (a quiet quarter at 0.00), as `--period YEAR` computes
    it; a period of another year is a typo (2052-Q3 for 2025-Q3), KR721."""
    if pays_without_rows(plan):
        return
    try:
        known = data_periods(plan, values)
    except KamError:
        return  # the data does not tell its periods: --period is the only way to give them
    kind = plan.payment_kind or plan.period_kind
    if kind != plan.period_kind:
        known = sorted({p.containing(kind) for p in known})
    years = sorted({p.containing("year") for p in known})
    inside = {p for y in years for p in y.subperiods(kind)}
    for label, parts in asked.items():
        if not inside.intersection(parts):
            labels = [p.label for p in known]
            span = labels[0] if len(labels) == 1 else f"{labels[0]} to {labels[-1]}"
            within = years[0].label if len(years) == 1 else f"{years[0].label} to {years[-1].label}"
            raise KamError([Diagnostic(
                "KR721", f"--period {label}: outside the years the data reaches (its rows cover {span})",
                hint=did_you_mean(label, [p.label for p in sorted(inside)] + [y.label for y in years])
                or f"give a period of {within}")])


_READS_TABLES = ("fx", "assignee")  # built-ins that read a table of the data (rates, assignments)


def pays_without_rows(plan) -> bool:
    """Whether a component of the plan reads no row of any input but the payees table (its
    definitions, followed through the lets and params they read): it pays in a period the
    data's rows do not reach (a presence bonus `payee.quarterly_bonus * prorate(...)`)."""
    low = ir_of(plan) if isinstance(plan, CheckedPlan) else plan
    defs = low.definitions

    def reads_rows(start, name: str) -> bool:  # iterative: a chain of 3,000 lets is no recursion
        seen, todo = {name}, [start]
        while todo:
            for node in ir.walk(todo.pop()):
                if isinstance(node, (ir.Where, ir.Each, ir.Index)) \
                        or isinstance(node, ir.Call) and node.func in _READS_TABLES:
                    return True
                ref = getattr(node, "ref", None) if isinstance(node, ir.Name) else None
                if ref and ref[0] in ("table", "row", "column"):
                    return True
                if ref and ref[0] == "def" and ref[1] not in seen and ref[1] in defs:
                    seen.add(ref[1])
                    todo.append(defs[ref[1]].node)
        return False

    return any(d.kind == "component" and not reads_rows(d.node, name) for name, d in defs.items())


def _nothing_placed(plan: CheckedPlan | ir.Plan) -> Diagnostic:
    """KR405 when no row reaches a period: at the first filter that places rows (its tables had
    no dated row), or at the plan's `period` line when no filter places any."""
    placing = [pl for pl in plan.discovery if pl.span is not None]
    if placing:
        tables = ", ".join(dict.fromkeys(f"`{pl.table}`" for pl in plan.discovery))
        return Diagnostic("KR405", f"the data places no row in any period: no row of {tables} is placed "
                          "by the plan's filters (the file has no row, or none this filter holds), so "
                          "there is nothing to compute", placing[0].span,
                          "pass --period (e.g. --period 2025-Q1), or check the exports: are the rows "
                          "(and their dates) there?")
    text = getattr(plan.source, "text", "") or ""
    m = re.search(r"(?m)^[ \t]*period[ \t]+\w+", text)
    line = text.count("\n", 0, m.start()) + 1 if m else 1
    width = len(m.group().strip()) if m else 1
    col = (m.end() - m.start() - len(m.group().lstrip())) + 1 if m else 1
    return Diagnostic("KR405", "no filter of the plan places rows in periods, so the periods to compute "
                      "are not known", Span(plan.source.path, line, col, line, col + width),
                      "pass --period (e.g. --period 2025-Q1), or filter rows with `date_column in period`")


def data_periods(plan: CheckedPlan | ir.Plan, values) -> list[Period]:
    """Every calculation period the data's rows reach through the plan's placements, from
    the first to the last (engine side of discovery.py).

    A row reaches the periods p whose period expression holds it (close_date in
    period.year_to_date: from its quarter to the end of its year). Reaches are cut to the
    data's own time, from the period of its earliest date to the period of its latest (the
    dates of the placing columns; the period values when no date column places rows), and
    k periods past it when the expression looks back k times with `.previous` (`close_date
    in period.previous.year` in a quarterly plan: the next year's first quarter pays the
    data's last year too), except a reach lying wholly outside it, which keeps its period
    nearest to the data (`close_date in period.previous`: the data's last period pays in
    the next one); a
    comparison open on one side (`close_date <= period.end`) runs to the data's bound.
    """
    unknown = [p for p in plan.discovery if p.how == "unknown"]
    if unknown:
        where = f" (line {unknown[0].span.line})" if unknown[0].span is not None else ""
        raise KamError([Diagnostic(
            "KR417", "cannot tell which periods to compute: pass --period; a filter" + where +
            " places rows in periods in a way kamrules cannot follow", unknown[0].span,
            hint="pass --period (repeatable: --period 2025-Q1 --period 2025-Q2), or place the rows "
                 "with `date_column in period` (or period.year_to_date, period.previous, ...) or a "
                 "comparison of the date column with period.start / period.end")])
    kind, fiscal = plan.period_kind, plan.fiscal_start
    reaches, dates, spans = [], [], []
    for pl in plan.discovery:
        for rep in _representatives(values(pl.table, pl.column), pl, kind, fiscal):
            r = _reach(rep, pl, kind, fiscal)
            if r is not None:
                reaches.append((*r, pl.chain.count("previous")))
                if isinstance(rep, Period):
                    spans += [period_of(rep.start, kind, fiscal), period_of(rep.end, kind, fiscal)]
                else:
                    dates.append(period_of(rep, kind, fiscal))
    if not reaches:
        raise KamError([_nothing_placed(plan)])
    bounds = dates or spans  # the data's own time: its dates, else its period values
    first, last = min(bounds), max(bounds)
    lows, highs = [], []
    for lo, hi, back in reaches:
        lo, hi = lo or first, hi or last
        end = _after(last, back)  # a filter looking back k periods pays k periods later
        if hi < first:  # wholly before the data's first period: its last period only
            lo = hi
        elif lo > end:  # wholly after the data (period.previous): its first period only
            hi = lo
        else:
            lo, hi = max(lo, first), min(hi, end)
        lows.append(lo)
        highs.append(hi)
    return periods_between(min(lows), max(highs))


def _representatives(vals, pl, kind, fiscal):
    """One value per class that reaches the same periods: a date stands for its calculation
    period (every chain is made of whole periods), except `== period.start/.end`, which only
    a date on a period bound can meet."""
    if pl.how == "period":
        return {v for v in vals if isinstance(v, Period)}
    out = set()
    for d in vals:
        if not isinstance(d, dt.date):
            continue
        base = period_of(d, kind, fiscal)
        if pl.op == "==":
            if d in (base.start, base.end):
                out.add(d)
        else:
            out.add(base.start)
    return out


def _reach(v, pl, kind, fiscal):
    """(first, last) calculation periods p where the row's value v meets the placement
    (None: open on that side), or None when it meets none."""
    seed_lo = period_of(v.start if isinstance(v, Period) else v, kind, fiscal)
    seed_hi = period_of(v.end, kind, fiscal) if isinstance(v, Period) else seed_lo
    n = 13 * max(1, len(pl.chain)) + 2
    window, edge_lo, edge_hi = [seed_lo], False, False
    for _ in range(n):
        try:
            window.insert(0, _before(window[0]))
        except (ValueError, OverflowError):
            edge_lo = True
            break
    p = seed_lo
    while p < seed_hi:
        p = p.next()
        window.append(p)
    for _ in range(n):
        try:
            window.append(window[-1].next())
        except (ValueError, OverflowError):
            edge_hi = True
            break
    hits = [k for k, p in enumerate(window) if _meets(v, pl, p)]
    if not hits:
        return None
    lo = None if hits[0] == 0 and not edge_lo else window[hits[0]]
    hi = None if hits[-1] == len(window) - 1 and not edge_hi else window[hits[-1]]
    return lo, hi


def _after(p: Period, k: int) -> Period:
    """The period k periods after p (p itself past the calendar's end)."""
    for _ in range(k):
        try:
            p = p.next()
        except (ValueError, OverflowError):
            break
    return p


def _before(p: Period) -> Period:
    return period_of(p.start - dt.timedelta(days=1), p.kind, p.fiscal_start)


def _meets(v, pl, p: Period) -> bool:
    try:
        x = p
        for name in pl.chain:
            x = period_attr(x, name)
    except (ValueError, OverflowError):
        return False
    op = pl.op
    if op == "in":
        return x.contains(v) if isinstance(v, Period) else x.contains_date(v)
    if op == "==":
        return v == x
    return {"<": v < x, "<=": v <= x, ">": v > x, ">=": v >= x}[op]


def select_payees(wanted, known, where: str) -> set | None:
    """The payee ids asked with --payee (None: all), each checked against the payees of the
    data (`known`, read from `where`): an id that names no payee is an error with the
    nearest id (KR405), before anything is computed or printed."""
    if not wanted:
        return None
    known = sorted(set(known))
    have = set(known)
    for pid in wanted:
        if pid not in have:
            hint = did_you_mean(pid, known) or ("payees: " + ", ".join(known[:10]) if known else
                                                 f"{where} has no payee")
            raise KamError([Diagnostic("KR405", f"--payee {pid!r}: no payee {pid!r} in {where}",
                                       hint=hint)])
    return set(wanted)


def eligibility(plan: CheckedPlan | ir.Plan, tables: dict, periods: list[Period], payee_id: str) -> list:
    """[(calculation period, eligible, the trace of `eligible when` or None)] of one payee in
    the report periods: what `explain` says of a payee with no payout."""
    with decimal.localcontext(CONTEXT):
        ev = Evaluator(plan, tables, True)
        payee = next((r for r in ev.payees if r.id == payee_id), None)
        out = []
        for period in periods if payee is not None else ():
            for calc in period.subperiods(plan.period_kind):
                c = ev.context(payee, calc)
                out.append((calc, ev.is_eligible(c), ev.eligible_trace(c)))
        return out


def evaluate(plan: CheckedPlan | ir.Plan, tables: dict, periods: list[Period], trace: bool = True,
             payee_ids: set | None = None, on_payee=None, integrity: bool = True,
             history: History = NONE) -> list[Payout]:
    """Payouts for every payee and period (components in plan order, no totals);
    on_payee(), if given, is called after each payee (progress); integrity=False: the
    references were checked on the whole data already (tables cut to one payee's rows);
    history: what paid() reads in the periods a ledger fixed (core.history)."""
    with decimal.localcontext(CONTEXT) as ctx_dec:
        ctx_dec.clear_flags()
        if integrity:
            check_integrity(plan, tables)
        ev = Evaluator(plan, tables, trace, history)
        held = held_components(ev.plan)
        out = []
        payees = sorted(ev.payees, key=lambda r: r.id)
        for payee in payees:
            if payee_ids is not None and payee.id not in payee_ids:
                continue
            for period in periods:
                c = None
                try:
                    per_component: dict = {}
                    for calc in period.subperiods(plan.period_kind):
                        c = ev.context(payee, calc)
                        if not ev.is_eligible(c) and not held:
                            continue
                        for name in plan.components:
                            value = ev.component(c, name)
                            node = c.memo[("component", name)][1]
                            if name in held:  # `hold when`: deferred (holds.py)
                                value, node = pay_held(ev, c, name, value, node)
                            if value is not None:
                                per_component.setdefault(name, []).append((calc, value, node))
                    for name in plan.components:
                        parts = per_component.get(name)
                        if parts:
                            out.append(_payout(payee.id, period, name, parts, trace, ev.pay_codes.get(payee.id)))
                except Problem as p:
                    fail(p, p.ctx if p.ctx is not None else c)
                except RecursionError:
                    raise KamError([Diagnostic("KR102", f"evaluation nests too deeply for payee "
                                               f"{payee.id} in {period}",
                                               hint="a paid(...) chain reaches too far back; "
                                                    "compute fewer periods with --period")]) from None
            if on_payee is not None:
                on_payee()
        return out


def _name_currency(node: TraceNode, code: str) -> None:
    """Money of the per-payee currency (`payee.COLUMN`) in a payee's trace, relabelled `code`."""
    def named(v):
        return Money(v.amount, code) if isinstance(v, Money) and v.currency.startswith("payee.") else v
    for n in node.walk():
        n.value = named(n.value)
        n.rows = [attrs.evolve(r, contribution=named(r.contribution)) if isinstance(r.contribution, Money)
                  else r for r in n.rows]


def _payout(payee_id, period, name, parts, trace, code=None) -> Payout:
    """One payout row; several calculation periods paid together are added up (and traced);
    code: the payee's pay currency in a plan paid per payee's currency."""
    if code and trace:  # the trees show the payee's code, not `payee.COLUMN`
        for _, _, n in parts:
            _name_currency(n, code)
    if len(parts) == 1:
        calc, value, node = parts[0]
        return Payout(payee_id, period, name, value.amount, code or value.currency, node if trace else None)
    amount = sum((v.amount for _, v, _ in parts), start=parts[0][1].amount * 0)
    node = None
    if trace:
        node = TraceNode(name, "component", parts[0][2].span,
                         value=Money(amount, parts[0][1].currency),
                         branch=f"paid for {period}: " + " + ".join(str(c) for c, _, _ in parts),
                         children=[n for _, _, n in parts])
    return Payout(payee_id, period, name, amount, code or parts[0][1].currency, node)
