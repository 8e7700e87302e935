"""Draw balances and what to pay now: the ledger's side of `statement`, `team` and `diff`
with `--ledger` (docs/payroll.md, "Draw balances").

- The balance on account: a plan pays on account where a definition nets amounts paid
  before through `paid(c, within)` (an advance trued up at the quarter's end, a draw recovered
  later in the year). For each such definition and its window (the `within` of the first
  open period: the period after the last closed one), the balance is what the ledger paid
  for the components it reads in the closed periods of that window (recorded amounts plus
  the adjustments recorded for them), per payee: what the next true-up or recovery nets.
  It is zero when the window holds no closed period (settled at the window's end).
- What to pay for an open period: what the plan computes for it plus the adjustments of
  closed periods (and manual ones) paid in it (settle.Settlement.rows).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.backends.polars.ledger import chain, earlier
from kamrules.backends.polars.values import Unsupported
from kamrules.core import ir as ir_nodes
from kamrules.check.lower import ir_of
from kamrules.core.calendar import period_attr


@attrs.frozen
class Balance:
    payee_id: str
    reader: str  # the definition that reads paid() (quarter_true_up, outstanding)
    window: str  # the label of the period paid() reads within (2025-Q2)
    amount: Decimal  # the sum of `parts`
    currency: str
    parts: tuple  # (component, amount) paid on account in the window's closed periods


def balances(plan, ledger, next_open) -> list[Balance]:
    """Every payee's balance on account (module doc), by payee, then plan order; [] when
    nothing is closed, or the plan pays several calculation periods together (the ledger
    then holds no amount per calculation period)."""
    ir = ir_of(plan)
    if next_open is None or (plan.payment_kind and plan.payment_kind != plan.period_kind):
        return []
    readers: dict = {}  # (reader, chain) -> components read
    for name, d in ir.definitions.items():
        for node in _calls(d):
            try:
                key = (name, chain(ir, node))
            except Unsupported:
                continue
            comps = readers.setdefault(key, [])
            if node.args[0].id not in comps:
                comps.append(node.args[0].id)
    if not readers:
        return []
    paid = ledger.paid()
    payees = list(dict.fromkeys(pid for pid, _, _ in paid))
    out = []
    for (reader, ch), comps in readers.items():
        window = next_open
        for attr in ch:
            window = period_attr(window, attr)
        closed = [p.label for p in earlier(next_open, ch, plan.period_kind) if ledger.status(p.label) == "closed"]
        for pid in payees:
            parts, cur = [], plan.currency
            for comp in comps:
                got = [paid[(pid, label, comp)] for label in closed if (pid, label, comp) in paid]
                cur = got[0][1] if got else cur
                parts.append((comp, sum((a for a, _ in got), Decimal(0))))
            out.append(Balance(pid, reader, window.label, sum((a for _, a in parts), Decimal(0)), cur,
                               tuple(parts)))
    rank = {p: i for i, p in enumerate(payees)}
    return sorted(out, key=lambda b: rank[b.payee_id])


def _calls(d) -> list:
    """The paid(...) calls of one definition (its value, window, condition and hold)."""
    n = d.node
    exprs = [n] if isinstance(n, ir_nodes.Decision) else \
        [getattr(n, a, None) for a in ("expr", "when", "hold", "valid_from", "valid_to")]
    return [x for e in exprs if e is not None for x in ir_nodes.walk(e)
            if isinstance(x, ir_nodes.Call) and x.func == "paid"]


def to_pay(rows) -> dict:
    """payee -> period -> (computed, adjustments, currency) of a settlement's rows."""
    out: dict = {}
    for r in rows:
        mine = out.setdefault(r.payee_id, {})
        computed, adjusted, _ = mine.get(r.period, (Decimal(0), Decimal(0), r.currency))
        if r.adjusts:
            adjusted += r.amount
        else:
            computed += r.amount
        mine[r.period] = (computed, adjusted, r.currency)
    return out


def ledger_view(ledger, settlement, payees=None) -> dict:
    """payee -> {paid_to_date: {currency: amount}, adjustments: [Row], balances: [Balance]}:
    what `diff --ledger` shows of the ledger (paid to date: every close, adjustments
    included; adjustments: those the run pays now)."""
    from kamrules.ledger.history import paid_to_date
    out: dict = {}

    def entry(pid):
        return out.setdefault(pid, {"paid_to_date": {}, "adjustments": [], "balances": []})
    for (pid, _, cur), amount in paid_to_date(ledger, payees).items():
        paid = entry(pid)["paid_to_date"]
        paid[cur] = paid.get(cur, Decimal(0)) + amount
    for r in settlement.rows:
        if r.adjusts and (payees is None or r.payee_id in payees):
            entry(r.payee_id)["adjustments"].append(r)
    for b in settlement.balances():
        if payees is None or b.payee_id in payees:
            entry(b.payee_id)["balances"].append(b)
    return dict(sorted(out.items()))


def ledger_lines(view: dict) -> list[str]:
    """ledger_view as plain lines (diff --ledger, table format)."""
    from kamrules.report.payouts import format_amount
    out = []
    for pid, v in view.items():
        money = ", ".join(f"{format_amount(a)} {c}" for c, a in sorted(v["paid_to_date"].items())) or "nothing"
        out.append(f"{pid}: paid to date {money}")
        out += [f"  adjustment of {r.component} for {r.adjusts}, paid in {r.period}: {format_amount(r.amount)} "
                f"{r.currency}" for r in v["adjustments"]]
        out += [f"  paid on account, netted by {b.reader} in {b.window}: {format_amount(b.amount)} {b.currency}"
                for b in v["balances"]]
    return out


def ledger_json(view: dict) -> dict:
    """ledger_view as JSON values (diff --ledger --format json), amounts as strings."""
    from kamrules.report.payouts import format_amount
    return {pid: {
        "paid_to_date": {c: format_amount(a) for c, a in sorted(v["paid_to_date"].items())},
        "adjustments": [{"period": r.period, "adjusts": r.adjusts, "component": r.component,
                         "amount": format_amount(r.amount), "currency": r.currency} for r in v["adjustments"]],
        "balances": [{"reader": b.reader, "window": b.window, "amount": format_amount(b.amount),
                      "currency": b.currency, "parts": {c: format_amount(a) for c, a in b.parts}}
                     for b in v["balances"]]} for pid, v in view.items()}
