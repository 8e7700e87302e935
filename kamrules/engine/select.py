"""The aggregation layer: which input rows a `rows where cond` filter keeps.

Conjuncts `column == value` and `date_column in period` are answered from per-table indexes
(rows grouped by column value, or by the calendar period a date falls in), built once per
run; the other conjuncts are evaluated row by row. This is what keeps a plan over many
payees and periods from rescanning every table for every payee.
"""
from __future__ import annotations

from ..calendar import period_of
from ..ir import Filter


_PERIOD_KEYS: dict = {}


def period_key(kind: str, fiscal: int):
    """The key function date -> Period of `kind`: one function object per (kind, fiscal
    start), so that `Table.index` (cached by key function) builds each index only once."""
    fn = _PERIOD_KEYS.get((kind, fiscal))
    if fn is None:
        fn = _PERIOD_KEYS[(kind, fiscal)] = lambda d: period_of(d, kind, fiscal)
    return fn


def candidates(table, flt: Filter, key_values: list, periods: list):
    """Rows of `table` that satisfy the indexed conjuncts; None if none is indexable.

    key_values: evaluated right-hand sides of flt.eq, in order;
    periods: evaluated Periods of flt.in_period, in order.
    """
    best = None
    for (col, _), value in zip(flt.eq, key_values):
        rows = table.index(col).get(value, ())
        if best is None or len(rows) < len(best):
            best = rows
        if not best:
            return []
    for (col, _), p in zip(flt.in_period, periods):
        if p is None:
            return []
        if p.kind == "range":  # year-to-date and other spans: checked row by row
            continue
        rows = table.index(col, period_key(p.kind, p.fiscal_start)).get(p, ())
        if best is None or len(rows) < len(best):
            best = rows
        if not best:
            return []
    return best


def row_passes_index(row, flt: Filter, key_values: list, periods: list) -> bool:
    """Re-check the indexed conjuncts on one row (the index used covers only one of them)."""
    for (col, _), value in zip(flt.eq, key_values):
        v = row.values[col]
        if v is None or value is None:
            if not (v is None and value is None):
                return False
        elif v != value:
            return False
    for (col, _), p in zip(flt.in_period, periods):
        d = row.values[col]
        if d is None or p is None or not p.contains_date(d):
            return False
    return True
