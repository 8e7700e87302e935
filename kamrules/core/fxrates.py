"""The `fx_rates` input (date, from, to, rate) checked whole on the first fx() of a run, on
both engines (the columnar one hands the run to the interpreter, which words it): two rows
giving one pair (from, to) two different rates on the same day (KR420: which one pays was
the first row of the file, silently), or a rate that is not above 0 (KR420: a rate of 0 pays
nothing, a negative one turns a sale into a debt). The same rate twice is harmless."""
from __future__ import annotations

FX_CHECK = ("__row", "date", "from", "to", "rate")


def rate_problem(path: str, rows) -> tuple[str, str, str] | None:
    """(code, message, hint) of the first bad row of `rows` ((row number, date, from, to,
    rate) in file order), or None. Rows with an empty date or rate are left to the caller."""
    seen: dict = {}
    for number, day, source, target, rate in rows:
        if day is None or rate is None:
            continue
        if rate <= 0:
            return ("KR420", f"fx_rates row {number} of {path}: the rate {source}->{target} on {day} is {rate}",
                    "a rate is above 0: fix the row in the export")
        first = seen.setdefault((source, target, day), (number, rate))
        if first[1] != rate:
            return ("KR420", f"fx_rates rows {first[0]} and {number} of {path}: two rates {source}->{target} "
                    f"on {day} ({first[1]} and {rate})",
                    "keep one rate per pair and day: delete the wrong row")
    return None
