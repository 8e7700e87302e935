"""The SQL backend's values and names: `Val` (an expression's SQL with its kind, DECIMAL
scale, error mask and, for a quotient, its (numerator, denominator) pair), the row scopes
(`Rows`, `Ctx`), `Refused` (a construct the backend does not run exactly), and the small
helpers every SQL module writes with: quoting names and strings, joining error masks,
aligning scales, reading a definition back from the frame. Imported by translate.py and the
modules it lowers through (ratio, pools, ledger), so none of them imports translate.py.
"""
from __future__ import annotations

import attrs

from kamrules.backends.sql.exact import cast
from kamrules.core.limits import MAX_FRACTION_DIGITS

NUMERIC = ("money", "number", "rate", "count")
PERIOD_KINDS = ("year", "quarter", "month")
COLUMN_SCALE = MAX_FRACTION_DIGITS  # a loaded cell has at most 12 places (limits.py)


class Refused(Exception):
    """A construct the SQL backend does not run exactly (KR440)."""

    def __init__(self, what: str, node=None):
        span = getattr(node, "span", None)
        self.line = span.line if span is not None else None
        self.span = span
        self.what = what
        super().__init__(f"{what} (line {self.line})" if self.line else what)


@attrs.define
class Val:
    sql: str
    kind: str
    scale: int = 0
    err: str | None = None
    ratio: tuple | None = None  # (num Val, den Val): a quotient, only rounded
    derived: bool = False  # a quotient computed from quotients (ratio.py)
    summed: bool = False  # ... through a + or - of a quotient (a 0 may be a tiny number to the interpreter)
    nullable: bool = False  # may be empty (an optional cell): an error only where it is computed with


@attrs.define
class Rows:
    table: str
    conds: tuple  # IR conditions over one row of `table`


@attrs.define
class Ctx:
    row: str | None = None  # alias of the current row (inside a subquery)
    table: str | None = None
    params: dict = attrs.Factory(dict)
    rows: tuple = ()  # ((alias, table), ...): the row scopes, outermost first (a column's depth)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def any_err(*errs) -> str | None:
    errs = [e for e in errs if e]
    return " OR ".join(f"({e})" for e in errs) if errs else None


def aligned(*vals) -> list[str]:
    """The SQL of values compared with one another, numbers cast to one scale (the largest):
    Spark widens DECIMAL(38, 3) against DECIMAL(38, 2) to DECIMAL(38, 2), rounding silently
    (0.199 < 0.20 is false there); DuckDB compares exactly either way."""
    if not all(v.kind in NUMERIC for v in vals):
        return [v.sql for v in vals]
    s = max(v.scale for v in vals)
    return [v.sql if v.scale == s else cast(v.sql, s) for v in vals]


def string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def stored(name: str, v: Val) -> Val:
    """v read back from the frame's columns "d.<name>" (or "n."/"q." for a quotient) and
    "e.<name>" (its error mask), as engine._add writes them."""
    err = f"f.{q('e.' + name)}" if v.err else None
    if v.ratio is not None:
        n, d = v.ratio
        return Val("NULL", v.kind, 0, err, (Val(f"f.{q('n.' + name)}", n.kind, n.scale),
                                            Val(f"f.{q('q.' + name)}", d.kind, d.scale)), derived=v.derived,
                   summed=v.summed)
    sql = f"f.{q('d.' + name)}"
    if v.kind in NUMERIC:
        sql = cast(sql, v.scale)
    return Val(sql, v.kind, v.scale, err, nullable=v.nullable)
