"""What an execution of a plan gives back: `Run` (the payouts, the report periods, the engine
that computed them, the inputs read), `ColumnarRun` (with the payout frame), `LazyPayouts`
(a columnar run's Payout objects made on first use) and `DefinitionValues` (every let's and
component's value per payee-period, for the team page). Made by the session (session.py) and
the SQL runs (sqlrun.py), read by the commands."""
from __future__ import annotations

from collections.abc import Sequence

import attrs


@attrs.define
class Run:
    """The payouts of one execution (components in plan order, no totals)."""
    payouts: list
    periods: list
    engine: str  # the engine that computed them: "columnar" or "interpreter"
    inputs: dict  # input name -> object with .path (report.payouts.run_meta)


class LazyPayouts(Sequence):
    """The payouts of a columnar run as Payout objects, built on first use: `run` writes its
    CSV from the payout frame and never needs the millions of objects."""

    def __init__(self, make):
        self._make, self._items = make, None

    def _all(self) -> list:
        if self._items is None:
            self._items = self._make()
        return self._items

    def __getitem__(self, i):
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self):
        return iter(self._all())

    def __eq__(self, other) -> bool:
        return self._all() == (list(other) if isinstance(other, Sequence) else other)

    def __add__(self, other) -> list:
        return self._all() + list(other)

    def __radd__(self, other) -> list:
        return list(other) + self._all()

    def __repr__(self) -> str:
        return repr(self._all())


@attrs.define
class DefinitionValues:
    """Session.definition_values: `table` has payee_id, period (backends.polars.values.period_key
    of a calculation period), eligible, eligible! (its error), and per definition NAME its value
    (a Decimal column, money in the payee's pay currency), NAME! (an error: no value) and, for a
    component, applies.NAME."""
    table: object
    periods: dict  # period key -> calendar Period
    pay_codes: dict  # a plan paid per payee's currency: payee id -> its code ({} otherwise)
    handed_over: list  # payees the interpreter computed (their values here are not the payouts')


@attrs.define
class ColumnarRun(Run):
    table: object = None  # the payout frame (columnar.run.to_csv writes it)
