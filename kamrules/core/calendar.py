"""Calculation periods: years, quarters and months, with an optional fiscal-year start.

A `Period` knows its bounds and the periods that contain it; labels are `2025`, `2025-Q1`,
`2025-01` (fiscal years and quarters are labelled by the calendar year they start in).
"""
from __future__ import annotations

import datetime as dt
import re

import attrs

KINDS = ("month", "quarter", "year")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + n
    return total // 12, total % 12 + 1


@attrs.frozen(order=True)
class Period:
    start: dt.date
    kind: str = attrs.field(order=False)
    fiscal_start: int = attrs.field(default=1, order=False)

    @property
    def months(self) -> int:
        return {"month": 1, "quarter": 3, "year": 12}[self.kind]

    @property
    def end(self) -> dt.date:
        y, m = _add_months(self.start.year, self.start.month, self.months)
        return dt.date(y, m, 1) - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.kind == "year":
            return f"{self.start.year:04d}"
        q = ((self.start.month - self.fiscal_start) % 12) // 3 + 1
        return f"{self.fiscal_year_start.year:04d}-Q{q}"

    def __str__(self) -> str:
        return self.label

    @property
    def fiscal_year_start(self) -> dt.date:
        y = self.start.year if self.start.month >= self.fiscal_start else self.start.year - 1
        return dt.date(y, self.fiscal_start, 1)

    def containing(self, kind: str) -> "Period":
        return period_of(self.start, kind, self.fiscal_start)

    def contains_date(self, d: dt.date) -> bool:
        return self.start <= d <= self.end

    def contains(self, other: "Period") -> bool:
        return self.start <= other.start and other.end <= self.end

    def next(self) -> "Period":
        y, m = _add_months(self.start.year, self.start.month, self.months)
        return Period(dt.date(y, m, 1), self.kind, self.fiscal_start)

    def subperiods(self, kind: str) -> list["Period"]:
        out, p = [], Period(self.start, kind, self.fiscal_start)
        while p.start <= self.end:
            out.append(p)
            p = p.next()
        return out

    @property
    def is_quarter_end(self) -> bool:
        return self.end == self.containing("quarter").end

    @property
    def is_year_end(self) -> bool:
        return self.end == self.containing("year").end


def period_of(d: dt.date, kind: str, fiscal_start: int = 1) -> Period:
    if kind == "month":
        return Period(dt.date(d.year, d.month, 1), kind, fiscal_start)
    offset = (d.month - fiscal_start) % 12
    span = 3 if kind == "quarter" else 12
    y, m = _add_months(d.year, d.month, -(offset % span))
    return Period(dt.date(y, m, 1), kind, fiscal_start)


_LABEL = re.compile(r"^(\d{4})(?:-(Q[1-4]|\d{2}))?$")


def parse_period(text: str, fiscal_start: int = 1) -> Period:
    """Parse `2025`, `2025-Q1` or `2025-03`; raise ValueError otherwise."""
    m = _LABEL.match(text.strip())
    if not m:
        raise ValueError(f"not a period: {text!r} (expected 2025, 2025-Q1 or 2025-03)")
    year, rest = int(m.group(1)), m.group(2)
    if rest is None:
        return Period(dt.date(year, fiscal_start, 1), "year", fiscal_start)
    if rest.startswith("Q"):
        y, mo = _add_months(year, fiscal_start, 3 * (int(rest[1]) - 1))
        return Period(dt.date(y, mo, 1), "quarter", fiscal_start)
    month = int(rest)
    if not 1 <= month <= 12:
        raise ValueError(f"not a period: {text!r} (month must be 01 to 12)")
    return Period(dt.date(year, month, 1), "month", fiscal_start)


def periods_between(first: Period, last: Period) -> list[Period]:
    out, p = [], first
    while p <= last:
        out.append(p)
        p = p.next()
    return out


@attrs.frozen
class PeriodRange:
    """A span of whole periods, e.g. year-to-date: from the start of the year to the end of
    the current period. Answers `date in range` and lists its sub-periods for paid()."""
    first: Period
    last: Period
    kind: str = "range"

    @property
    def start(self) -> dt.date:
        return self.first.start

    @property
    def end(self) -> dt.date:
        return self.last.end

    @property
    def fiscal_start(self) -> int:
        return self.first.fiscal_start

    @property
    def label(self) -> str:
        return f"{self.first.label}..{self.last.label}"

    def __str__(self) -> str:
        return self.label

    def contains_date(self, d: dt.date) -> bool:
        return self.start <= d <= self.end

    def contains(self, other) -> bool:
        return self.start <= other.start and other.end <= self.end

    def subperiods(self, kind: str) -> list[Period]:
        out, p = [], Period(self.start, kind, self.fiscal_start)
        while p.start <= self.end:
            out.append(p)
            p = p.next()
        return out


def year_to_date(p: Period) -> PeriodRange:
    year = p.containing("year")
    return PeriodRange(Period(year.start, p.kind, p.fiscal_start), p)


def year_to_date_periods(periods: list) -> list:
    """The periods with, before each, the earlier periods of its (fiscal) year, of its kind:
    what a year to date adds up (`--period 2025-Q3`: 2025-Q1 to 2025-Q3), sorted."""
    return sorted({q for p in periods for q in year_to_date(p).subperiods(p.kind)} | set(periods))


def period_attr(p: Period, name: str):
    if name in ("start", "end"):
        return getattr(p, name)
    if name in ("year", "quarter", "month"):
        return p.containing(name)
    if name == "label":
        return p.label
    if name == "year_to_date":
        return year_to_date(p)
    if name == "previous":
        return previous_period(p)
    return getattr(p, name)


def previous_period(p):
    start = p.start - dt.timedelta(days=1)
    return period_of(start, p.kind, p.fiscal_start)
