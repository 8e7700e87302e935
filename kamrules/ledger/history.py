"""A payee's history in the ledger, for the views that show it (`statement --ledger`,
`team --ledger`, `ledger show`): paid to date per component, every adjustment with its
reason, and each period's status.

`payee_history(ledger, payee_id, periods=(), pending=())` reads only the ledger (verified by
the caller: store.verified); `pending` adds the adjustment rows a run against the ledger
would pay now (settle.Settlement.rows), not recorded yet. Reasons: a manual adjustment's
own (adjustments.csv of its close); a correction of a closed period, the recomputation on
today's data; a reopened period, the reason its reopening recorded.
"""
from __future__ import annotations

import csv
import io
import os
from decimal import Decimal

import attrs

from kamrules.ledger.manual import MANUAL
from kamrules.ledger.store import ADJUSTMENTS, Ledger


@attrs.frozen
class Adjustment:
    period: str  # the period that pays it
    adjusts: str  # the closed period it corrects, or manual:<reference>
    component: str
    amount: Decimal
    currency: str
    reason: str
    recorded: bool  # True: a close recorded it (paid); False: pending, paid by the next close


@attrs.frozen
class PayeeHistory:
    payee_id: str
    paid_to_date: dict  # component -> (amount, currency): every recorded row, adjustments included
    adjustments: tuple  # Adjustment, recorded ones first, in ledger order
    periods: dict  # period label -> "closed" | "open": the ledger's periods and those asked
    balances: tuple = ()  # balance.Balance: paid on account, what the next true-up nets
    to_pay: dict = attrs.field(factory=dict)  # open period -> (computed, adjustments, currency)

    @property
    def total(self) -> dict:
        """currency -> paid to date over every component."""
        out: dict = {}
        for amount, cur in self.paid_to_date.values():
            out[cur] = out.get(cur, Decimal(0)) + amount
        return out


def paid_to_date(ledger: Ledger, payees=None) -> dict:
    """(payee_id, component, currency) -> amount over every close (adjustments included), in
    the order components first appear; payees: only these ids (None: all)."""
    sums: dict = {}
    for rec in ledger.records:
        for r in rec.rows:
            if payees is None or r.payee_id in payees:
                key = (r.payee_id, r.component, r.currency)
                sums[key] = sums.get(key, Decimal(0)) + r.amount
    return sums


def payee_history(ledger: Ledger, payee_id: str, periods=(), pending=(), settlement=None) -> PayeeHistory:
    """The payee's history (module doc); periods: labels whose status to report too;
    settlement (settle.Settlement): the run against the ledger, whose adjustment rows are
    the pending ones, and which gives the balances on account and what to pay now."""
    balances, owed, reasons = (), {}, {}
    if settlement is not None:
        pending = [r for r in settlement.rows if r.payee_id == payee_id and r.adjusts]
        balances = tuple(b for b in settlement.balances() if b.payee_id == payee_id)
        owed = {p: v for p, v in settlement.to_pay().get(payee_id, {}).items() if p in set(periods)}
        reasons = {m.reference: m.reason for m in settlement.manual}
    paid = {comp: (amount, cur) for (_, comp, cur), amount in paid_to_date(ledger, {payee_id}).items()}
    reopen_reasons = {r.period: r.manifest.get("reason", "") for r in ledger.records if r.kind == "reopen"}
    adjustments = []
    for rec in ledger.records:
        manual = _manual_reasons(rec.folder) if any(r.adjusts.startswith(MANUAL) for r in rec.rows) else {}
        for r in rec.rows:
            if r.payee_id == payee_id and r.adjusts:
                adjustments.append(Adjustment(r.period, r.adjusts, r.component, r.amount, r.currency,
                                              _reason(r, manual, reopen_reasons), True))
    for r in pending:
        if r.payee_id == payee_id and r.adjusts:
            adjustments.append(Adjustment(r.period, r.adjusts, r.component, r.amount, r.currency,
                                          _reason(r, reasons, reopen_reasons), False))
    labels = sorted({r.period for r in ledger.records} | set(periods))
    return PayeeHistory(payee_id, paid, tuple(adjustments), {p: ledger.status(p) for p in labels},
                        balances, owed)


def _reason(row, manual: dict, reopened: dict) -> str:
    if row.adjusts.startswith(MANUAL):
        ref = row.adjusts[len(MANUAL):]
        return manual.get(ref) or f"manual adjustment {ref}"
    if row.adjusts == row.period and row.period in reopened:
        return f"{row.period} reopened: {reopened[row.period]}"
    return f"{row.adjusts} recomputed on today's data differs from what was paid for it"


def _manual_reasons(folder: str) -> dict:
    """reference -> reason, from a close's adjustments.csv ({} when it has none)."""
    try:
        with open(os.path.join(folder, ADJUSTMENTS), "rb") as fh:
            text = fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return {r.get("reference", ""): r.get("reason", "") for r in csv.DictReader(io.StringIO(text))}
