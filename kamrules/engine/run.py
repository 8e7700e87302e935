"""The run: which periods to compute, then every payee x period x component, in order.

Periods come from `--period` or from the data: every period of the plan's calendar touched by
the date (or period) columns the plan filters with `in period` / `== period`, from the first
to the last. Earlier periods are computed as needed for `paid(...)`, but only the asked
periods are returned.
"""
from __future__ import annotations

import decimal

from ..calendar import Period, parse_period, period_of, periods_between
from ..diagnostics import Diagnostic, KamError
from ..ir import CheckedPlan
from ..limits import period_range_problem
from ..money import Money
from ..trace import Payout, TraceNode
from .evaluator import Evaluator, Problem, fail
from .integrity import check_integrity


def plan_periods(plan: CheckedPlan, tables: dict, period: str | None = None) -> list[Period]:
    """The periods to report: payment periods when the plan pays less often than it computes."""
    calc = _calc_periods(plan, tables, period)
    if plan.payment_kind and plan.payment_kind != plan.period_kind:
        return sorted({p.containing(plan.payment_kind) for p in calc})
    return calc


def _calc_periods(plan: CheckedPlan, tables: dict, period: str | None) -> list[Period]:
    kind, fiscal = plan.period_kind, plan.fiscal_start
    if period is not None and plan.payment_kind:
        kind = plan.payment_kind
    if period is not None:
        try:
            p = parse_period(period, fiscal)
        except ValueError as err:
            raise KamError([Diagnostic("KR002", f"--period: {err}",
                                       hint="e.g. --period 2025-Q1 for a quarterly plan")]) from None
        beyond = period_range_problem(p)
        if beyond:
            raise KamError([Diagnostic("KR002", f"--period {period} {beyond}",
                                       hint="e.g. --period 2025-Q1 for a quarterly plan")])
        order = ("month", "quarter", "year")
        if order.index(p.kind) < order.index(kind):
            raise KamError([Diagnostic("KR002", f"--period {period} is a {p.kind} but the plan "
                                       f"computes by {kind}", hint=f"give a {kind} or a longer period")])
        return p.subperiods(kind)
    kind = plan.period_kind
    touched = set()
    for table, column, how in plan.discovery:
        for row in tables[table].rows:
            v = row.values[column]
            if v is None:
                continue
            if how == "date":
                touched.add(period_of(v, kind, fiscal))
            elif v.kind == kind:
                touched.add(v)
    if not touched:
        raise KamError([Diagnostic(
            "KR405", "the data places no row in any period, so there is nothing to compute",
            hint="pass --period (e.g. --period 2025-Q1), or filter rows with `date_column in period`")])
    return periods_between(min(touched), max(touched))


def evaluate(plan: CheckedPlan, tables: dict, periods: list[Period], trace: bool = True,
             payee_ids: set | None = None, on_payee=None) -> list[Payout]:
    """Payouts for every payee and period (components in plan order, no totals);
    on_payee(), if given, is called after each payee (progress)."""
    with decimal.localcontext(decimal.Context()) as ctx_dec:
        from ..money import CONTEXT
        ctx_dec.prec, ctx_dec.rounding = CONTEXT.prec, CONTEXT.rounding
        ctx_dec.Emin, ctx_dec.Emax = CONTEXT.Emin, CONTEXT.Emax
        ctx_dec.traps = dict(CONTEXT.traps)
        ctx_dec.flags = {k: False for k in CONTEXT.flags}
        check_integrity(plan, tables)
        ev = Evaluator(plan, tables, trace)
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
                        if not ev.is_eligible(c):
                            continue
                        for name in plan.components:
                            value = ev.component(c, name)
                            if value is not None:
                                node = c.memo[("component", name)][1]
                                per_component.setdefault(name, []).append((calc, value, node))
                    for name in plan.components:
                        parts = per_component.get(name)
                        if parts:
                            out.append(_payout(payee.id, period, name, parts, trace))
                except Problem as p:
                    fail(p, c)
                except RecursionError:
                    raise KamError([Diagnostic("KR102", f"evaluation nests too deeply for payee "
                                               f"{payee.id} in {period}",
                                               hint="a paid(...) chain reaches too far back; "
                                                    "compute fewer periods with --period")]) from None
            if on_payee is not None:
                on_payee()
        return out


def _payout(payee_id, period, name, parts, trace) -> Payout:
    """One payout row; several calculation periods paid together are added up (and traced)."""
    if len(parts) == 1:
        calc, value, node = parts[0]
        return Payout(payee_id, period, name, value.amount, value.currency, node if trace else None)
    amount = sum((v.amount for _, v, _ in parts), start=parts[0][1].amount * 0)
    node = None
    if trace:
        node = TraceNode(name, "component", parts[0][2].span,
                         value=Money(amount, parts[0][1].currency),
                         branch=f"paid for {period}: " + " + ".join(str(c) for c, _, _ in parts),
                         children=[n for _, _, n in parts])
    return Payout(payee_id, period, name, amount, parts[0][1].currency, node)
