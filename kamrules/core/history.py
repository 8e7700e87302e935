"""The history `paid()` reads in periods a ledger fixed: an input of the lowered plan.

A run against a payment ledger (kamrules/ledger) recomputes each closed period on today's
data under the plan recorded for it; the open periods must then read, through `paid(c,
within)`, those values, not today's plan's. `History` carries them to both engines (the
interpreter's `paid()` and the columnar engine's paid column read it the same way): for a
calculation period in `periods`, paid() adds `values[(payee_id, period, component)]`
(0 when absent: nothing owed for it) instead of computing the component there. Periods
outside `periods` are computed as in any run. An empty History changes nothing.
"""
from __future__ import annotations

from decimal import Decimal

import attrs


@attrs.frozen
class History:
    periods: frozenset = frozenset()  # calendar Periods (calculation periods) whose values are fixed
    values: dict = attrs.field(factory=dict)  # (payee_id, Period, component) -> Decimal

    def __bool__(self) -> bool:
        return bool(self.periods)

    def fixed(self, period) -> bool:
        return period in self.periods

    def value(self, payee_id: str, period, component: str) -> Decimal:
        """The amount paid() reads for a fixed period (0 when nothing is owed)."""
        return self.values.get((payee_id, period, component), Decimal(0))


NONE = History()
