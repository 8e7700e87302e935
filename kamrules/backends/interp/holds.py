"""`hold when EXPR` on a component, in the interpreter: what a held component pays.

Per payee, within each fiscal year, in calculation-period order: where EXPR holds, the
component's amount is carried (the period pays 0.00 where the component applies, no row
where it does not); in the first period where EXPR is false, the period pays its own
amount plus everything carried (a row appears there even when the component does not
apply that period). The year's last period pays whatever is still held, so a year pays in
total what the plan computes. EXPR is evaluated only where something would be paid (the
component applies, or an amount is carried). paid() reads the amounts computed, not the
amounts released (a hold moves a payment, it does not change what is owed).
The columnar engine does the same on frames (kamrules/backends/polars/holds.py).
"""
from __future__ import annotations

from decimal import Decimal

from kamrules.core.numeric import Money
from kamrules.trace.tree import TraceNode


def held_components(plan) -> set:
    """The names of the components with a `hold when`."""
    return {n for n in plan.components if getattr(plan.definitions[n].node, "hold", None) is not None}


def is_held(ev, ctx, name: str) -> bool:
    """EXPR of the component's `hold when` for this payee-period (memoised, traced)."""
    key = ("hold", name)
    if key not in ctx.memo:
        cond = ev.plan.definitions[name].node.hold
        node = TraceNode(f"{name} (hold when)", "condition", cond.span)
        ctx.memo[key] = (bool(ev._in_node(node, lambda: ev.ev(cond, ctx, ()))), node)
    return ctx.memo[key][0]


def carried(ev, ctx, name: str) -> Decimal:
    """The amount held in the fiscal year's periods before ctx's and not released yet."""
    year = ctx.period.containing("year")
    carry = Decimal(0)
    for s in year.subperiods(ctx.period.kind):
        if s >= ctx.period:
            break
        c = ev.context(ctx.payee, s)
        v = ev.component(c, name)
        carry += v.amount if v is not None else 0
        if (v is not None or carry != 0) and not is_held(ev, c, name):
            carry = Decimal(0)
    return carry


def pay_held(ev, ctx, name: str, value, node):
    """(amount paid in ctx's period or None for no row, its trace node) of a held component
    whose computed amount there is `value` (None: the component does not apply)."""
    carry = carried(ev, ctx, name)
    if value is None and carry == 0:
        return None, node
    cur = value.currency if value is not None else ev.plan.currency
    year_end = ctx.period.end == ctx.period.containing("year").end
    if not year_end and is_held(ev, ctx, name):
        if value is None:
            return None, node
        paid, branch = Money(value.amount * 0, cur), f"held: {format(value.amount, 'f')} paid later"
    elif carry == 0:
        return value, node
    else:
        own = value.amount if value is not None else Decimal(0)
        paid = Money(own + carry, cur)
        branch = f"released: {format(carry, 'f')} held in earlier periods" + (
            " (the fiscal year's last period pays what is held)" if year_end and is_held(ev, ctx, name) else "")
    if node is None:  # not tracing
        return paid, None
    comp = ev.plan.definitions[name]
    out = TraceNode(name, "component", comp.span, value=paid, branch=branch)
    out.children += [n for n in (node if value is not None else None, ctx.memo.get(("hold", name), (0, None))[1])
                     if n is not None]
    return paid, out
