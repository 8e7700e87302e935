"""The plan's input tables as polars DataFrames, loaded fast and accepted exactly as the strict
loader (kamrules.data.load_data, then the `references` check of engine.integrity) accepts
them.

Each declared column, in declaration order, typed (text and period as String, money, number,
rate and count as Decimal(38, 20), date as Date, bool as Boolean; a period is its key
`kind:start`), then `__row` (the line number a data.Row would have) and `__id` (data.Row.id).

The fast path reads a CSV file with polars, every cell as a string, and vouches for it with
vectorised checks (header, cell counts, blank lines, regexes and casts per type, decimal
places per currency, key and unique columns, references, limits). Whatever it cannot vouch
for (a doubt: a bad cell, a quote, an odd line end, a JSON input, a value beyond the Decimal
range...) goes to the strict loader: its diagnostics are raised as they are, and when it
accepts the file its Table is converted (`frames_from_tables`). A file with quotes is split
by Python's csv module (the strict loader's parser), without quotes by polars. Amounts are
read as text and cast to Decimal, never through a float.
"""
from __future__ import annotations

import csv
import io
import os
from decimal import Decimal

import attrs
import polars as pl

from .. import data, limits
from ..diagnostics import Diagnostic, KamError
from ..engine.integrity import check_integrity
from ..ir import CheckedPlan, InputTable
from ..money import Money
from ..source import Span

try:
    from .frame import Fallback
except ImportError:  # the engine's module is not there: load.py still works alone
    class Fallback(Exception):
        """A value the columnar engine cannot hold (the caller runs the interpreter)."""

SCALE = 20
INT_DIGITS = 38 - SCALE
DECIMAL = pl.Decimal(38, SCALE)
NUMERIC = ("money", "number", "rate", "count")
DTYPES = {"text": pl.String, "money": DECIMAL, "number": DECIMAL, "rate": DECIMAL, "count": DECIMAL,
          "date": pl.Date, "bool": pl.Boolean, "period": pl.String}

# The characters str.isspace() and str.strip() treat as whitespace (tested against Python).
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
              "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_WS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in WHITESPACE) + "]"
_BLANK = f"^{_WS}*$"
_PLAIN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"  # data._DECIMAL
_WHOLE = r"[+-]?([0-9]+(\.0*)?|\.0+)"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_BOOL = r"^(?i:true|yes|1|y|false|no|0|n)$"
_TRUE = r"^(?i:true|yes|1|y)$"
_BOM = b"\xef\xbb\xbf"


class Doubt(Exception):
    """The fast check cannot vouch for a file: the strict loader decides."""


def load_frames(plan: CheckedPlan, folder: str, max_rows: int | None = None) -> dict[str, pl.DataFrame]:
    """One DataFrame per input of the plan, or the KamError the strict path raises."""
    if not os.path.isdir(folder):
        data.load_data(plan, folder, max_rows)  # raises the strict diagnostic
    frames, doubtful = {}, []
    for name, spec in plan.inputs.items():
        try:
            frames[name] = _fast_frame(plan, spec, input_path(spec, folder), max_rows)
        except Doubt:
            doubtful.append(name)
    if doubtful:
        frames.update(_strict_frames(plan, folder, doubtful, max_rows))
    _check_payees(plan, frames, folder)
    _check_references(plan, frames, folder, max_rows)
    return {name: frames[name] for name in plan.inputs}


def input_path(spec: InputTable, folder: str) -> str:
    return spec.file if os.path.isabs(spec.file) else os.path.join(folder, spec.file)


# ------------------------------------------------------------------ the strict path

def _strict_frames(plan: CheckedPlan, folder: str, names: list, max_rows: int | None) -> dict:
    """The strict loader on the doubtful files: its diagnostics, or its tables as frames."""
    tables, diags = {}, []
    for name in names:
        spec = plan.inputs[name]
        try:
            tables[name] = data.load_table(spec, input_path(spec, folder), plan.fiscal_start, max_rows)
        except KamError as err:
            diags.extend(err.diagnostics)
    if diags:
        raise KamError(diags)
    return frames_from_tables(plan, tables)


def frames_from_tables(plan: CheckedPlan, tables: dict) -> dict[str, pl.DataFrame]:
    """Loaded tables (data.Table) as the frames load_frames gives, for the tables given.
    Raises Fallback for a number beyond Decimal(38, 20)."""
    return {name: _frame_from_table(plan.inputs[name], table) for name, table in tables.items()}


def _frame_from_table(spec: InputTable, table) -> pl.DataFrame:
    rows = table.rows
    cols = {}
    for name, col in spec.columns.items():
        kind = col.type.kind
        values = [r.values[name] for r in rows]
        if kind == "money":
            values = [v.amount if isinstance(v, Money) else v for v in values]
        if kind in NUMERIC:
            for v in values:
                if v is not None and not _fits(v):
                    raise Fallback(f"`{v}` in {table.path} is beyond Decimal(38, {SCALE})")
        elif kind == "period":
            values = [period_key(v) if v is not None else None for v in values]
        cols[name] = pl.Series(name, values, dtype=DTYPES[kind])
    cols["__row"] = pl.Series("__row", [r.number for r in rows], dtype=pl.Int64)
    cols["__id"] = pl.Series("__id", [r.id for r in rows], dtype=pl.String)
    return pl.DataFrame(cols)


def _fits(value: Decimal) -> bool:
    exp = value.as_tuple().exponent
    return isinstance(exp, int) and -exp <= SCALE and (value == 0 or value.adjusted() < INT_DIGITS)


def period_key(p) -> str:
    return f"{p.kind}:{p.start.isoformat()}"


# ------------------------------------------------------------------ reading the cells

def _fast_frame(plan: CheckedPlan, spec: InputTable, path: str, max_rows: int | None) -> pl.DataFrame:
    if path.lower().endswith(".json"):
        raise Doubt("JSON")
    raw, lines = _raw_cells(spec, path)
    if raw.height > (limits.MAX_ROWS if max_rows is None else max_rows):
        raise Doubt("rows")
    return _typed(plan, spec, raw, lines)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
    except OSError:
        raise Doubt("unreadable") from None
    if blob.startswith(_BOM):
        blob = blob[len(_BOM):]
    if not blob or b"\x00" in blob or blob.count(b"\r") != blob.count(b"\r\n"):
        raise Doubt("empty, NUL or a lone CR")
    try:
        blob.decode("utf-8")
    except UnicodeDecodeError:
        raise Doubt("not UTF-8") from None
    return blob


def _raw_cells(spec: InputTable, path: str) -> tuple[pl.DataFrame, pl.Series]:
    """(declared columns as strings, non-blank records only; their line numbers)."""
    blob = _read(path)
    if b'"' in blob:
        header, cells, lines = _split_quoted(blob)
    else:
        header, cells, lines = _split_plain(blob)
    header = [h.strip() for h in header]
    positions = {}
    for name in spec.columns:
        if name not in header or header.count(name) > 1:
            raise Doubt("header")
        positions[name] = header.index(name)
    return cells.select(pl.col(cells.columns[p]).alias(n) for n, p in positions.items()), lines


def _split_plain(blob: bytes) -> tuple[list, pl.DataFrame, pl.Series]:
    """No quote in the file: one physical line is one record, split by polars."""
    opts = dict(has_header=False, quote_char=None, infer_schema=False, empty_string_is_null=False)
    try:
        cells = pl.read_csv(blob, **opts)
        text = pl.read_csv(blob, separator="\x00", new_columns=["line"], **opts)["line"]
    except pl.exceptions.PolarsError:
        raise Doubt("ragged") from None
    if cells.height != text.len():
        raise Doubt("line count")
    width = cells.width
    line_stats = pl.DataFrame({"line": text}).select(
        pl.col("line").str.count_matches(",", literal=True).alias("commas"),
        pl.col("line").str.len_chars().max().alias("longest"))
    if line_stats["longest"][0] is not None and line_stats["longest"][0] > csv.field_size_limit():
        raise Doubt("a line over the csv field limit")
    header = cells.row(0)
    numbered = cells.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("__line"),
                                  line_stats["commas"].alias("__commas"))[1:]
    blank = pl.all_horizontal(pl.col(c).str.contains(_BLANK) for c in cells.columns)
    kept = numbered.filter(~blank)
    if (kept["__commas"] != width - 1).any():
        raise Doubt("cell count")
    return list(header), kept.drop("__line", "__commas"), kept["__line"]


def _split_quoted(blob: bytes) -> tuple[list, pl.DataFrame, pl.Series]:
    """Quotes in the file: split by the csv module, as the strict loader does."""
    reader = csv.reader(io.StringIO(blob.decode("utf-8"), newline=""), strict=True)
    records, lines = [], []
    try:
        header = next(reader, None)
        if not header:
            raise Doubt("no header")
        width = len(header)
        for record in reader:
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != width:
                raise Doubt("cell count")
            records.append(record)
            lines.append(reader.line_num)
    except csv.Error:
        raise Doubt("csv") from None
    columns = list(zip(*records)) if records else [()] * width
    cells = pl.DataFrame({f"column_{i + 1}": pl.Series(values, dtype=pl.String)
                          for i, values in enumerate(columns)})
    return header, cells, pl.Series("__line", lines, dtype=pl.Int64)


# ------------------------------------------------------------------ checking and typing

def _typed(plan: CheckedPlan, spec: InputTable, raw: pl.DataFrame, lines: pl.Series) -> pl.DataFrame:
    """The typed frame, or Doubt when any cell is not clearly what the strict loader accepts."""
    values, doubts = [], []
    for name, col in spec.columns.items():
        value, doubt = _column(plan, col, raw[name])
        cell = pl.col(name)
        present = ~cell.str.contains(_BLANK)
        doubts.append(cell.str.len_chars() > limits.MAX_CELL_CHARS)
        doubts.append(present & doubt)
        if not col.optional:
            doubts.append(~present)
        values.append(pl.when(present).then(value).otherwise(None).cast(DTYPES[col.type.kind]).alias(name))
    if doubts and raw.height and raw.select(pl.any_horizontal(doubts).any()).item():
        raise Doubt("a cell")
    typed = raw.select(values)
    for name, col in spec.columns.items():
        if col.unique or name == spec.key:
            if typed.select(pl.col(name).drop_nulls().is_duplicated().any()).item():
                raise Doubt("a duplicate")
    id_col = spec.key or next(iter(spec.columns))
    return typed.with_columns(lines.alias("__row"), _ids(plan, spec.columns[id_col], raw[id_col], lines))


def _column(plan: CheckedPlan, col, cells: pl.Series) -> tuple[pl.Expr, pl.Expr]:
    """(value of a non-blank cell, when the cell is in doubt) as expressions on the cell."""
    kind = col.type.kind
    cell = pl.col(col.name)
    text = cell.str.strip_chars(WHITESPACE)
    if kind == "text":
        return cell, pl.lit(False)
    if kind in NUMERIC:
        return _number(kind, col.type.currency, text)
    if kind == "date":
        return text.str.to_date("%Y-%m-%d", strict=False), \
            ~text.str.contains(_DATE) | text.str.starts_with("0000") | text.str.to_date("%Y-%m-%d", strict=False).is_null()
    if kind == "bool":
        return text.str.contains(_TRUE), ~text.str.contains(_BOOL)
    if kind == "period":
        keys = _period_keys(cells, plan.fiscal_start)
        return text.replace_strict(keys, default=None, return_dtype=pl.String), text.replace_strict(
            keys, default=None, return_dtype=pl.String).is_null()
    raise Doubt(f"a column of kind {kind}")


def _number(kind: str, currency: str | None, text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    places = INT_DIGITS, SCALE
    if kind == "rate":
        pct = text.str.ends_with("%")
        body = pl.when(pct).then(text.str.strip_suffix("%").str.strip_chars(WHITESPACE)).otherwise(text)
        fraction = f"{{0,{SCALE - 2}}}"
    else:
        pct, body, fraction = None, text, f"{{0,{SCALE}}}"
    if kind == "money":
        p = data.minor_units(currency)
        shape = rf"[+-]?([0-9]+(\.[0-9]{{0,{p}}}0*)?|\.[0-9]{{1,{p}}}0*)" if p else r"[+-]?([0-9]+(\.0*)?|\.0+)"
    elif kind == "count":
        shape = _WHOLE
    else:
        shape = _PLAIN
    in_range = rf"^[+-]?[0-9]{{0,{places[0]}}}(\.[0-9]{fraction})?$"
    doubt = (text.str.len_chars() > limits.MAX_NUMBER_DIGITS) | ~body.str.contains(f"^(?:{shape})$") \
        | ~body.str.contains(in_range)
    value = body.cast(DECIMAL, strict=False)
    if pct is not None:
        value = pl.when(pct).then((value * pl.lit(Decimal("0.01"), dtype=DECIMAL)).cast(DECIMAL)).otherwise(value)
    return value, doubt | value.is_null()


def _period_keys(cells: pl.Series, fiscal_start: int) -> dict:
    """Each distinct period cell, stripped, to its key; Doubt if one does not parse."""
    keys = {}
    for text in cells.str.strip_chars(WHITESPACE).unique().to_list():
        if text == "":
            continue
        try:
            keys[text] = period_key(data.parse_value(text, "period", None, fiscal_start))
        except Exception:  # the strict loader reports it
            raise Doubt("period") from None
    return keys


def _ids(plan: CheckedPlan, col, cells: pl.Series, lines: pl.Series) -> pl.Series:
    """data.Row.id: str of the id column's value, or `row N` when it is empty."""
    blank = cells.str.contains(_BLANK)
    if col.type.kind == "text":
        shown = cells
    else:
        distinct = [c for c in cells.unique().to_list() if c.strip()]
        names = {c: str(data.parse_value(c, col.type.kind, col.type.currency, plan.fiscal_start))
                 for c in distinct}
        shown = cells.replace_strict(names, default=None, return_dtype=pl.String)
    parts = pl.DataFrame({"blank": blank, "shown": shown, "line": lines})
    return parts.select(pl.when(pl.col("blank")).then(pl.lit("row ") + pl.col("line").cast(pl.String))
                        .otherwise(pl.col("shown")).alias("__id")).to_series()


# ------------------------------------------------------------------ checks across tables

def _check_payees(plan: CheckedPlan, frames: dict, folder: str) -> None:
    payees = frames.get(plan.payees_table)
    if payees is not None and payees.height == 0:
        path = input_path(plan.inputs[plan.payees_table], folder)
        raise KamError([Diagnostic("KR403", f"{path} has no rows, but the plan pays the rows of "
                                   f"`{plan.payees_table}` (`payees {plan.payees_table}`)",
                                   Span(path, 2, 1, 2, 2), "check the export: only a header was written")])


def _reference_target(plan: CheckedPlan, table: str) -> str | None:
    spec = plan.inputs[table]
    return spec.key or ("payee_id" if "payee_id" in spec.columns else None)


def _check_references(plan: CheckedPlan, frames: dict, folder: str, max_rows: int | None) -> None:
    """`references` columns: every value a key of the target table. On a miss, the same
    diagnostics as engine.integrity.check_integrity."""
    broken = False
    for name, spec in plan.inputs.items():
        for col in spec.columns.values():
            if col.references is None:
                continue
            tkey = _reference_target(plan, col.references)
            target = frames[col.references]
            if tkey is None or target[tkey].dtype != frames[name][col.name].dtype:
                broken = True
                continue
            values = frames[name][col.name].drop_nulls()
            if not values.is_in(target[tkey].unique().implode()).all():
                broken = True
    if broken:
        _reference_diagnostics(plan, frames, folder, max_rows)


def _reference_diagnostics(plan: CheckedPlan, frames: dict, folder: str, max_rows: int | None) -> None:
    """check_integrity's reference check (without `require` rules) on tables rebuilt from the
    frames when the columns involved are text (values equal to the strict loader's), else on
    the strict loader's tables."""
    involved: dict = {}
    for name, spec in plan.inputs.items():
        for col in spec.columns.values():
            if col.references is not None:
                involved.setdefault(name, set()).add(col.name)
                tkey = _reference_target(plan, col.references)
                involved.setdefault(col.references, set()).add(tkey)
    text_only = all(c is not None and plan.inputs[t].columns[c].type.kind == "text"
                    for t, cols in involved.items() for c in cols)
    if text_only:
        tables = {name: _skeleton(plan, name, frames[name], involved.get(name, set()), folder)
                  for name in plan.inputs}
    else:
        tables = data.load_data(plan, folder, max_rows)
    check_integrity(attrs.evolve(plan, requires=[]), tables)


def _skeleton(plan: CheckedPlan, name: str, frame: pl.DataFrame, columns: set, folder: str):
    """A data.Table with the rows' numbers and only the given (text) columns."""
    columns = sorted(columns)
    numbers = frame["__row"].to_list()
    cells = [frame[c].to_list() for c in columns]
    rows = [data.Row(name, n, "", dict(zip(columns, vals))) for n, *vals in zip(numbers, *cells)]
    spec = plan.inputs[name]
    return data.Table(spec, input_path(spec, folder), rows)
