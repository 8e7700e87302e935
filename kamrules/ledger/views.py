"""The ledger as the reading views show it (`statement --ledger`, `team --ledger`,
`serve --ledger`): one settlement of the plan against the verified ledger, then per payee
their history (paid to date, adjustments with reasons) and for the team page each period's
status, paid to date, what to pay now and the balances on account. The commands and the
portal read the ledger through here, so that they show the same amounts.
"""
from __future__ import annotations

import attrs

from kamrules.ledger.history import paid_to_date, payee_history
from kamrules.ledger.settle import settle
from kamrules.ledger.store import verified


@attrs.frozen
class LedgerView:
    """A verified ledger settled against the plan and data of a reading view."""
    ledger: object  # store.Ledger
    settled: object  # settle.Settlement
    labels: tuple  # the labels of the periods the view shows

    def history(self, payee_id: str):
        """The payee's history (history.PayeeHistory) for a statement."""
        return payee_history(self.ledger, payee_id, list(self.labels), settlement=self.settled)

    def team(self, shown: set) -> tuple:
        """TeamView.ledger for the payees `shown`: ({period: status}, {payee: (paid to date,
        currency)}, [balances on account], {payee: {open period: (computed, adjustments,
        currency)}})."""
        labels = set(self.labels) | {r.period for r in self.ledger.records}
        paid: dict = {}
        for (pid, _, cur), amount in paid_to_date(self.ledger, shown).items():
            paid[pid] = (paid.get(pid, (0, cur))[0] + amount, cur)
        asked = set(self.labels)
        owed = {pid: {p: v for p, v in o.items() if p in asked}
                for pid, o in self.settled.to_pay().items() if pid in shown}
        return ({p: self.ledger.status(p) for p in labels}, paid,
                [b for b in self.settled.balances() if b.payee_id in shown], owed)


def ledger_view(plan_path: str, data: str, ledger_path: str, engine: str, selection, periods,
                db: str | None = None, db_timeout: float | None = None) -> LedgerView:
    """Verify the ledger (KR804 names a changed byte) and settle the plan against it (`db`:
    the database of its `from sql` inputs)."""
    ledger = verified(ledger_path)
    settled = settle(plan_path, data, ledger, engine, selection=selection, view=True, db=db, db_timeout=db_timeout)
    return LedgerView(ledger, settled, tuple(str(p) for p in periods))
