"""The columnar trace of a run: every definition's value for every payee-period, and the
data rows behind every aggregate, as two tables instead of one object tree per payee.

- values: frame_row (the payee-period's number), payee_id, period (the calculation
  period's label), then one column per definition (`let`s and the components, rounded, as
  the plan computes them) and, per component, whether it applies (`applies.<name>`);
- lineage: frame_row (joins to values), row (the data file's line number), definition
  (`portfolio (line 54)`: the definition and the plan line of the aggregate), table, value
  (what the row contributed, empty for count/exists).

`write_trace(frame, folder)` writes them as values.parquet and lineage.parquet (compressed
columns: well under 1 KB per payee-period) through kamrules/files/outputs.py: the folder is new or
holds a previous trace only, both files are replaced together or not at all. `kamrules explain` recomputes the full tree of
one payee on demand with the interpreter, so explanations stay complete.
"""
from __future__ import annotations

import os

import polars as pl

from kamrules.files import outputs
from kamrules.backends.polars.values import DEC


def trace_tables(frame) -> tuple[pl.DataFrame, pl.DataFrame]:
    plan = frame.plan
    labels = {k: p.label for k, p in frame.by_key.items()}
    head = [pl.col("__f").alias("frame_row"), pl.col("__payee").alias("payee_id"),
            pl.col("__pkey").replace_strict(labels, return_dtype=pl.String).alias("period")]
    cols = []
    for name, d in plan.definitions.items():
        if f"d.{name}" in frame.columns:
            cols.append(pl.col(f"d.{name}").alias(name))
        if d.kind == "component":
            cols.append(pl.col(f"x.{name}").alias(f"applies.{name}"))
    values = frame.df.filter(pl.col("__elig")).select(*head, *cols)
    parts = []
    for node, owner, pairs in frame.lineage or ():
        v = pairs["__v"].cast(DEC) if "__v" in pairs.columns else pl.Series([None] * pairs.height, dtype=DEC)
        parts.append(pairs.select(pl.col("__f").alias("frame_row"), pl.col("__row").alias("row"))
                     .with_columns(pl.lit(f"{owner} (line {node.span.line})").cast(pl.Categorical)
                                   .alias("definition"),
                                   pl.lit(_table_of(frame, node)).cast(pl.Categorical).alias("table"),
                                   v.alias("value")))
    if parts:
        lineage = pl.concat(parts)
    else:
        lineage = pl.DataFrame(schema={"frame_row": pl.UInt32, "row": pl.Int64, "definition": pl.Categorical,
                                       "table": pl.Categorical, "value": DEC})
    return values, lineage


def _table_of(frame, node) -> str:
    from kamrules.core import ir
    arg = node.args[0]
    src = arg.source if isinstance(arg, ir.Each) else arg
    rows = frame.ev(src, __import__("kamrules.backends.polars.frame", fromlist=["Ctx"]).Ctx())
    return rows.table


def write_trace(frame, folder: str) -> None:
    """Write values.parquet and lineage.parquet into folder (new, or holding only a previous
    trace: outputs.make_folder), both or neither (outputs.write_files)."""
    outputs.make_folder(folder, "--trace-dir", outputs.TRACE_FILES)
    values, lineage = trace_tables(frame)
    outputs.write_files([(os.path.join(folder, f"{name}.parquet"),
                         lambda fh, df=df: df.write_parquet(fh, compression="zstd"))
                        for name, df in (("values", values), ("lineage", lineage))], "--trace-dir")


def trace_bytes(frame) -> int:
    """Bytes of the compressed trace tables (what write_trace would write)."""
    import io
    total = 0
    for df in trace_tables(frame):
        buf = io.BytesIO()
        df.write_parquet(buf, compression="zstd")
        total += buf.tell()
    return total
