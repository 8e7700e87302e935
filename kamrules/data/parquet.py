"""Parquet inputs (`input deals from "deals.parquet"`): a file's columns as the text cells
the CSV validators read, so that a Parquet export is accepted or refused exactly as the same
data written as CSV.

Decimal and integer columns become their exact decimal text, dates `YYYY-MM-DD`, booleans
`true`/`false`, strings stay as they are, nulls are empty cells. A floating-point column
is refused for every declared column (a float cannot hold an amount exactly: export it as
DECIMAL or as text). Parquet is read with polars (a dependency of kamrules).
Rows are numbered from 2, as if the file had a header line, so that `row N` in a message
is the N-1th record.
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.check.plan import InputTable
from kamrules.diagnostics.source import Span
from kamrules.files.inputs import open_input

FLOATS = ("Float32", "Float64", "Float16")


def is_parquet(path: str) -> bool:
    return path.lower().endswith((".parquet", ".pq"))


def parquet_cells(spec: InputTable, path: str):
    """(the declared columns as a polars DataFrame of String cells, their row numbers)."""
    try:
        import polars as pl
    except ImportError:
        raise KamError([Diagnostic("KR401", f"input `{spec.name}` is a Parquet file ({path}), which "
                                   "needs polars to be read", spec.span,
                                   "reinstall kamrules (pip install kamrules brings polars), or export the table as CSV")]) from None
    with open_input(spec, path, binary=True) as fh:  # a regular file inside the folder only
        return _cells(pl, spec, path, fh)


def _cells(pl, spec: InputTable, path: str, fh):
    try:
        schema = pl.read_parquet_schema(fh)
    except Exception as err:  # polars raises several kinds for a damaged file
        raise KamError([Diagnostic("KR403", f"{path} is not a readable Parquet file: {str(err)[:120]}",
                                   Span(path, 1, 1, 1, 2), "export the table again, or as CSV")]) from None
    diags = []
    for name, col in spec.columns.items():
        if name not in schema:
            if not col.optional:
                diags.append(Diagnostic("KR402", f"{path} has no column `{name}` (declared in input "
                                        f"`{spec.name}`)", Span(path, 1, 1, 1, 2),
                                        did_you_mean(name, list(schema)) or
                                        f"columns in the file: {', '.join(schema)}"))
        elif str(schema[name]) in FLOATS or str(schema[name]).startswith("Float"):
            diags.append(Diagnostic("KR403", f"{path}: column `{name}` is stored as a floating-point "
                                    f"number ({schema[name]}), which cannot hold an amount exactly",
                                    Span(path, 1, 1, 1, 2),
                                    "export it as DECIMAL (or as text: 1234.56)"))
        elif str(schema[name]).startswith(("List", "Struct", "Array", "Binary", "Object")):
            diags.append(Diagnostic("KR403", f"{path}: column `{name}` holds {schema[name]} values, "
                                    "not plain cells", Span(path, 1, 1, 1, 2),
                                    "flatten it to one value per row"))
    if diags:
        raise KamError(diags)
    present = [n for n in spec.columns if n in schema]
    fh.seek(0)
    frame = pl.read_parquet(fh, columns=present)
    cells = frame.select(*[_text(pl, pl.col(n), schema[n]).alias(n) for n in present],
                         *[pl.lit("").alias(n) for n in spec.columns if n not in schema])
    cells = cells.select(list(spec.columns))
    rows = pl.int_range(2, cells.height + 2, dtype=pl.Int64, eager=True)
    return cells, rows


def _text(pl, col, dtype):
    kind = str(dtype)
    if kind == "Boolean":
        out = pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
    elif kind.startswith(("Date", "Datetime")) and kind != "Date":
        out = col.dt.date().cast(pl.String)
    else:
        out = col.cast(pl.String)
    return pl.when(col.is_null()).then(pl.lit("")).otherwise(out)
