"""The cell grammar: what a valid cell of each column type is, and the value it stands for.
Both loaders follow from it: the strict loader (kamrules.data.strict) matches a cell against
`form(kind, currency).pattern` with Python's `re` and converts it with `convert`, wording the
error when it does not match; the fast loader (kamrules.data.fast) builds its polars checks
from the very same patterns (Rust's regex) and casts in bulk. tests/test_cells.py checks that
the two accept exactly the same cells and give the same values.

The rules, as data:
- TRIM: the padding around a cell (the characters `str.strip` removes: spaces, tabs, NBSP,
  other Unicode spaces) is not part of its value, Text included; a cell of padding only is
  empty. A raw cell has at most limits.MAX_CELL_CHARS characters (KR408).
- Numbers (`NUMERIC`): plain decimals in ASCII digits (`1234.56`, `-3`, `.5`, `1.`), a rate
  may end in `%` (padding allowed before it; the value is divided by 100). At most
  limits.MAX_NUMBER_DIGITS characters once trimmed. The exact range: at most
  MAX_INTEGER_DIGITS digits before the point (leading zeros do not count) and at most
  MAX_FRACTION_DIGITS after it (trailing zeros do not count; 2 fewer for a rate with `%`);
  Money at most its currency's decimals (MINOR_UNITS); Count a whole number.
- Dates: `YYYY-MM-DD` that exists, from limits.MIN_DATE to limits.MAX_DATE.
- Bools: true/yes/y/1 and false/no/n/0 in any ASCII case.
- Periods: `2025`, `2025-Q1`, `2025-03`, ending inside the calendar (the fiscal year start
  decides where a year ends: `convert` checks it).
Every pattern is matched against the whole trimmed cell and is written with ASCII classes
only (no `\\d`, `\\s`, no case-folding flag, no lookaround), so that Python's `re` and Rust's
regex read it alike.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal

import attrs

from kamrules.core import limits
from kamrules.core.calendar import parse_period
from kamrules.core.numeric import Money

NUMERIC = ("money", "number", "rate", "count")
KINDS = ("text",) + NUMERIC + ("date", "bool", "period")

# The characters str.isspace() and str.strip() treat as whitespace (tests/test_cells.py checks
# the list against Python): the padding of every cell.
TRIM = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
        "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
SPACE = "[" + "".join(f"\\u{ord(c):04X}" for c in TRIM) + "]"  # one padding character, as a class
BLANK = f"{SPACE}*"  # a cell that is empty once trimmed

TRUE = ("true", "yes", "1", "y")
FALSE = ("false", "no", "0", "n")

# ISO 4217 minor units (decimal places) of the currencies a plan is likely to use; any other
# three-letter code is taken to have 2.
MINOR_UNITS = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "RON": 2, "BRL": 2, "MXN": 2, "INR": 2, "CNY": 2,
    "HKD": 2, "SGD": 2, "ZAR": 2, "TRY": 2, "ILS": 2, "MAD": 2, "AED": 2, "SAR": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "PYG": 0, "UGX": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3,
    "CLF": 4, "UYW": 4,
}


def minor_units(currency: str | None) -> int:
    return MINOR_UNITS.get(currency or "", 2)


def words(options) -> str:
    """These words in any ASCII case (not a case-folding flag: Unicode folds `ſ` to `s`)."""
    return "(?:" + "|".join("".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in w)
                            for w in sorted(options)) + ")"


def decimal(places: int) -> str:
    """A plain decimal with at most MAX_INTEGER_DIGITS digits before the point (leading zeros
    aside) and at most `places` after it (trailing zeros aside)."""
    whole = f"0*[0-9]{{1,{limits.MAX_INTEGER_DIGITS}}}"
    frac = f"[0-9]{{0,{places}}}0*" if places else "0*"
    some = f"[0-9]{{1,{places}}}0*" if places else "0+"  # a fraction with no whole part: a digit
    return rf"[+-]?(?:{whole}(?:\.{frac})?|\.{some})"


_YEAR = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_MONTH = "(?:0[1-9]|1[0-2])"
DATE = f"{_YEAR}-{_MONTH}-(?:0[1-9]|[12][0-9]|3[01])"  # that the day exists: `convert`
PERIOD = f"{_YEAR}(?:-(?:Q[1-4]|{_MONTH}))?"  # that it ends inside the calendar: `convert`


@attrs.frozen
class Form:
    """The accepted form of a cell of one type: `pattern` (a regex the whole trimmed cell
    matches), `max_chars` (of the trimmed cell; None: only MAX_CELL_CHARS of the raw cell),
    `percent` (a rate: the value of a cell ending in `%` is divided by 100)."""
    kind: str
    pattern: str
    max_chars: int | None = None
    percent: bool = False
    currency: str | None = None

    @functools.cached_property
    def regex(self) -> re.Pattern:
        return re.compile(self.pattern)

    def accepts(self, s: str) -> bool:
        """Whether the trimmed cell `s` has this form (dates and periods: see `convert`)."""
        return (self.max_chars is None or len(s) <= self.max_chars) and self.regex.fullmatch(s) is not None

    def convert(self, s: str, fiscal_start: int = 1):
        """The value of the trimmed cell `s`, which `accepts`; ValueError for a date that does
        not exist or a period that ends past the calendar."""
        kind = self.kind
        if kind in NUMERIC:
            if self.percent and s.endswith("%"):
                value = Decimal(s[:-1].strip()).scaleb(-2)
            else:
                value = Decimal(s)
            return Money(value, self.currency) if kind == "money" else value
        if kind == "date":
            return dt.date.fromisoformat(s)  # ValueError: a day that does not exist
        if kind == "bool":
            return s.lower() in TRUE
        if kind == "period":
            p = parse_period(s, fiscal_start)
            problem = limits.period_range_problem(p)
            if problem:
                raise ValueError(problem)
            return p
        return s


@functools.lru_cache(maxsize=None)
def form(kind: str, currency: str | None = None) -> Form:
    """The grammar of a cell of `kind` (Money: of `currency`)."""
    if kind == "text":
        return Form(kind, "(?s:.*)")
    if kind in NUMERIC:
        digits = limits.MAX_NUMBER_DIGITS
        if kind == "money":
            return Form(kind, decimal(minor_units(currency)), digits, currency=currency)
        if kind == "count":
            return Form(kind, decimal(0), digits)
        if kind == "rate":
            plain = decimal(limits.MAX_FRACTION_DIGITS)
            pct = decimal(limits.MAX_FRACTION_DIGITS - 2)
            return Form(kind, f"{plain}|{pct}{SPACE}*%", digits, percent=True)
        return Form(kind, decimal(limits.MAX_FRACTION_DIGITS), digits)
    if kind == "date":
        return Form(kind, DATE)
    if kind == "bool":
        return Form(kind, words(TRUE + FALSE))
    if kind == "period":
        return Form(kind, PERIOD)
    raise ValueError(f"no cell grammar for the type {kind}")


def trim(cell: str) -> str:
    """The cell without its padding (TRIM)."""
    return cell.strip()


def is_blank(cell: str) -> bool:
    return not cell.strip()
