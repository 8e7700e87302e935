"""The `fx_rates` input (date, from, to, rate) checked whole on the first fx() of a run, on
every engine (the columnar and SQL ones hand the run to the interpreter, which words it):
two rows giving one pair (from, to) two different rates on the same day (KR420: which one
pays was the first row of the file, silently), or a rate that is not above 0 (KR420: a rate
of 0 pays nothing, a negative one turns a sale into a debt). The same rate twice is
harmless. The diagnostic is a data error: it points at the rate's cell of the file
(file:row:column, as a bad cell is placed), whichever payee's conversion met it first."""
from __future__ import annotations

from typing import NamedTuple

from kamrules.diagnostics.diagnostic import Diagnostic
from kamrules.diagnostics.source import Span

FX_CHECK = ("__row", "date", "from", "to", "rate")


class BadRate(NamedTuple):
    """The first bad row of fx_rates: its code, message and hint, the row to point at, and
    for two rates on one day the row of the first."""
    code: str
    message: str
    hint: str
    row: int
    first: int | None = None


def rate_problem(path: str, rows) -> BadRate | None:
    """The first bad row of `rows` ((row number, date, from, to, rate) in file order), or
    None. Rows with an empty date or rate are left to the caller."""
    seen: dict = {}
    for number, day, source, target, rate in rows:
        if day is None or rate is None:
            continue
        if rate <= 0:
            return BadRate("KR420", f"fx_rates row {number} of {path}: the rate {source}->{target} on {day} "
                           f"is {rate}", "a rate is above 0: fix the row in the export", number)
        first = seen.setdefault((source, target, day), (number, rate))
        if first[1] != rate:
            return BadRate("KR420", f"fx_rates rows {first[0]} and {number} of {path}: two rates "
                           f"{source}->{target} on {day} ({first[1]} and {rate})",
                           "keep one rate per pair and day: delete the wrong row", number, first[0])
    return None


def rate_diagnostic(bad: BadRate, path: str, header: list, call: Span | None) -> Diagnostic:
    """KR420 at the `rate` cell of the bad row of `path` (its position in the file's `header`,
    else the row's first cell); notes: the first of two rates on one day, and the plan's
    fx() call whose conversion read the file first."""
    column = header.index("rate") + 1 if "rate" in header else 1

    def cell(row: int) -> Span:
        return Span(path, row, column, row, column + 1)
    notes = [] if bad.first is None else [(cell(bad.first), "the first rate of that day")]
    if call is not None:
        notes.append((call, "the whole file is checked at the plan's first conversion, here"))
    return Diagnostic(bad.code, bad.message, cell(bad.row), bad.hint, related=tuple(notes))
