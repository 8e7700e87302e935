"""Loaded tables (kamrules.data.Table) as the frames the columnar engine reads: the
columns of the plan's schema (Money as its amount, Decimal(38, 20); Period as its key) plus
`__row` (line number) and `__id` (row id)."""
from __future__ import annotations

import polars as pl

from ..money import Money
from .frame import DEC, period_key

DTYPES = {"text": pl.String, "money": DEC, "number": DEC, "rate": DEC, "count": DEC,
          "date": pl.Date, "bool": pl.Boolean, "period": pl.String}


def frames_from_tables(plan, tables: dict) -> dict:
    out = {}
    for name, spec in plan.inputs.items():
        rows = tables[name].rows
        cols = {}
        for c, s in spec.columns.items():
            kind = s.type.kind
            values = [r.values[c] for r in rows]
            if kind == "money":
                values = [v.amount if isinstance(v, Money) else v for v in values]
            elif kind == "period":
                values = [period_key(v) if v is not None else None for v in values]
            cols[c] = pl.Series(c, values, dtype=DTYPES[kind])
        cols["__row"] = pl.Series("__row", [r.number for r in rows], dtype=pl.Int64)
        cols["__id"] = pl.Series("__id", [r.id for r in rows], dtype=pl.String)
        out[name] = pl.DataFrame(cols)
    return out
