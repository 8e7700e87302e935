"""The plan's input tables as polars DataFrames, loaded fast and accepted exactly as the strict
loader (kamrules.data.strict.load_data, then the `references` check of kamrules.data.references)
accepts them: both follow the cell grammar of kamrules.data.cells, whose patterns this module
turns into polars checks.

Each declared column, in declaration order, typed (text and period as String, money, number,
rate and count as Decimal(38, SCALE) (the engine's scale, 24), date as Date, bool as Boolean; a period is its key
`kind:start`), then `__row` (the line number a strict.Row would have) and `__id` (strict.Row.id).

The fast path reads a CSV file with polars, every cell as a string, and vouches for it with
vectorised checks (header, cell counts, blank lines, the grammar's patterns and casts per
type, key and unique columns, references, limits). A file it cannot vouch for (a doubt: a
bad cell, a row with too many or too few cells, a JSON input, a CR alone inside a line...)
goes to the strict loader, which words the errors; when it accepts the file its Table is
converted (`frames_from_tables`). A valid number beyond the columns' Decimal(38, SCALE)
(more than 38 - SCALE digits before the point) raises Fallback: the run is the
interpreter's. polars splits a file without
quotes, or one whose every line is one well-formed record; a file with a quoted newline (or a
quote inside a cell) is split by Python's csv module, the strict loader's parser. Amounts are
read as text and cast to Decimal, never through a float.
"""
from __future__ import annotations

import csv
import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import polars as pl

from kamrules.data import dialect as dialects
from kamrules.check.plan import CheckedPlan, InputTable
from kamrules.core import limits
from kamrules.core.numeric import EXACT_PLACES, Fallback, Money
from kamrules.data import cells, strict
from kamrules.data.parquet import is_parquet, parquet_cells
from kamrules.data.references import check_references, target_key
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.diagnostics.source import Span
from kamrules.files import inputs

SCALE = EXACT_PLACES  # the columnar engine's column scale
READERS = 2  # input files read at once (load_frames)
INT_DIGITS = 38 - SCALE
DECIMAL = pl.Decimal(38, SCALE)
NUMERIC = cells.NUMERIC
DTYPES = {"text": pl.String, "money": DECIMAL, "number": DECIMAL, "rate": DECIMAL, "count": DECIMAL,
          "date": pl.Date, "bool": pl.Boolean, "period": pl.String}

WHITESPACE = cells.TRIM
# The padding characters (cells.TRIM) that polars' default strip_chars() (Rust's White_Space)
# does not remove (tests/test_cells.py checks it).
RUST_LACKS = (b"\x1c", b"\x1d", b"\x1e", b"\x1f")
_BLANK = f"^{cells.BLANK}$"
_PAD = cells.SPACE[1:-1]  # the padding characters, inside a regex class
_BOM = b"\xef\xbb\xbf"


def _whole(pattern: str) -> str:
    """A grammar pattern as polars matches it: the whole cell."""
    return f"^(?:{pattern})$"


class Doubt(Exception):
    """The fast check cannot vouch for a file: the strict loader decides."""


class Beyond(Exception):
    """Every cell is valid, but a number does not fit the columns' Decimal(38, SCALE)."""


def load_frames(plan: CheckedPlan, folder: str, max_rows: int | None = None,
                cells: dict | None = None, lean: bool = False) -> dict[str, pl.DataFrame]:
    """One DataFrame per input of the plan, or the KamError the strict path raises.
    cells: a dict to fill with the raw cells of each CSV input read on the fast path (input
    name -> (declared columns as strings, line numbers)), for kept_tables.
    lean=True: the numeric columns of `unread_numbers` are validated (the same verdicts,
    the same diagnostics) but not converted, and left out of the frames read on the fast
    path, for a caller that reads only ids, links and periods (`explain`, which then
    converts the cells of the rows it keeps: kept_tables)."""
    bad_folder = inputs.folder_problem(folder)
    if bad_folder is not None:
        raise bad_folder
    frames, doubtful, beyond = {}, [], None

    def fast(name, spec):
        try:
            return _fast_frame(plan, spec, input_path(spec, folder), max_rows, cells,
                               unread_numbers(plan, name) if lean else ())
        except (Doubt, KamError, Beyond) as why:  # KamError: outside the folder, not a regular file...
            return why

    # the files read side by side (polars parses, casts and checks without the GIL), the
    # largest first (the last one started is then a small one: at 100k payees, deals.csv
    # started third ended the load about 0.15 s after the others); the verdicts taken in the
    # plan's order, as one after the other
    names = list(plan.inputs)
    if len(names) > 1 and (os.cpu_count() or 1) > 1:
        first = sorted(names, key=lambda n: -_size(input_path(plan.inputs[n], folder)))
        with ThreadPoolExecutor(max_workers=min(len(names), READERS)) as pool:
            done = dict(zip(first, pool.map(fast, first, [plan.inputs[n] for n in first])))
        done = [done[n] for n in names]
    else:
        done = [fast(n, plan.inputs[n]) for n in names]
    for name, got in zip(names, done):
        if isinstance(got, (Doubt, KamError)):
            doubtful.append(name)  # the strict loader words it, in its order
        elif isinstance(got, Beyond):
            beyond = beyond or str(got)
        else:
            frames[name] = got
    if doubtful:
        frames.update(_strict_frames(plan, folder, doubtful, max_rows))
    if beyond is not None:  # the data is valid (the strict loader words any error first)
        raise Fallback(beyond)
    _check_payees(plan, frames, folder)
    _check_references(plan, frames, folder, max_rows)
    return {name: frames[name] for name in plan.inputs}


def unread_numbers(plan: CheckedPlan, name: str) -> set:
    """The numeric columns of input `name` no check of the loader reads (not its key, id
    column or a unique column, not a column that references a table or that a `references`
    names) and that place no rows in periods: those load_frames(lean=True) leaves out."""
    spec = plan.inputs[name]
    kept = {spec.key, next(iter(spec.columns), None)} | {p.column for p in plan.discovery if p.table == name}
    for other in plan.inputs.values():
        for col in other.columns.values():
            if col.references == name:
                kept.add(target_key(plan, name))
    return {n for n, c in spec.columns.items()
            if c.type.kind in NUMERIC and n not in kept and not c.unique and c.references is None}


def _size(path: str) -> int:
    """The file's size in bytes (0: not a file this can measure; its reader words why)."""
    try:
        return os.stat(path).st_size
    except (OSError, ValueError):
        return 0


def input_path(spec: InputTable, folder: str) -> str:
    """The input's file in the folder (kamrules.files.inputs.resolve: KR006/KR411 outside it)."""
    return inputs.resolve(spec, folder)


# ------------------------------------------------------------------ the strict path

def _strict_frames(plan: CheckedPlan, folder: str, names: list, max_rows: int | None) -> dict:
    """The strict loader on the doubtful files: its diagnostics, or its tables as frames."""
    tables, diags = {}, []
    for name in names:
        spec = plan.inputs[name]
        try:
            tables[name] = strict.load_table(spec, input_path(spec, folder), plan.fiscal_start, max_rows)
        except KamError as err:
            diags.extend(err.diagnostics)
    if diags:
        raise KamError(diags)
    return frames_from_tables(plan, tables)


def frames_from_tables(plan: CheckedPlan, tables: dict) -> dict[str, pl.DataFrame]:
    """Loaded tables (strict.Table) as the frames load_frames gives, for the tables given.
    Raises Fallback for a number beyond Decimal(38, SCALE)."""
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
    exp = value.normalize().as_tuple().exponent
    return isinstance(exp, int) and -exp <= SCALE and (value == 0 or value.adjusted() < INT_DIGITS)


def period_key(p) -> str:
    return f"{p.kind}:{p.start.isoformat()}"


def kept_tables(plan: CheckedPlan, folder: str, keep: dict, cells: dict | None = None) -> dict:
    """strict.load_data(plan, folder, keep=keep) for data load_frames has accepted: the CSV
    rows of the lines in `keep` (input name -> line numbers) are split by polars as
    load_frames splits them (or taken from the raw `cells` load_frames kept), and only their
    cells go through the strict loader's conversion (strict.table_of_records), instead of
    the csv module reading every line in Python. An input not in keep, or not a CSV polars
    splits, is read by the strict loader."""
    tables = {}
    for name, spec in plan.inputs.items():
        path = input_path(spec, folder)
        lines = keep.get(name)
        try:
            if lines is None or path.lower().endswith(".json") or is_parquet(path):
                raise Doubt("read whole")
            if cells is not None and name in cells:
                raw, numbers, pos = cells[name]
            else:
                blob = _read(spec, path)
                raw, numbers = _raw_cells(spec, blob)
                pos = _header_positions(spec, blob)
        except Doubt:
            tables[name] = strict.load_table(spec, path, plan.fiscal_start, None, lines)
            continue
        mask = numbers.is_in(sorted(lines))
        raw, numbers = raw.filter(mask), numbers.filter(mask)
        names = list(spec.columns)
        records = ((line, {n: (cell, pos[n]) for n, cell in zip(names, row)})
                   for line, row in zip(numbers.to_list(), raw.select(names).iter_rows()))
        tables[name] = strict.table_of_records(spec, path, plan.fiscal_start, records)
    return tables


def _header_positions(spec: InputTable, blob: bytes) -> dict:
    """Declared column -> its 1-based cell in the header (1 when the header cannot be read
    alone: the position only places a diagnostic)."""
    end = blob.find(b"\n")
    try:
        header = [h.strip() for h in next(csv.reader([blob[:end if end >= 0 else None].decode("utf-8")]))]
    except (csv.Error, UnicodeDecodeError, StopIteration):
        header = []
    return {n: header.index(n) + 1 if n in header else 1 for n in spec.columns}


# ------------------------------------------------------------------ reading the cells

def _fast_frame(plan: CheckedPlan, spec: InputTable, path: str, max_rows: int | None,
                cells: dict | None = None, unread: set | tuple = ()) -> pl.DataFrame:
    if path.lower().endswith(".json"):
        raise Doubt("JSON")
    if is_parquet(path):
        raw, lines = parquet_cells(spec, path)
        rust_spaces, padded, long = False, True, None
    else:
        blob = _read(spec, path)
        padded = not unpadded(blob)
        rust_spaces = not padded or not any(c in blob for c in RUST_LACKS)  # (unpadded looked for them)
        raw, lines, long = _split(spec, blob, padded)
    if raw.height > (limits.MAX_ROWS if max_rows is None else max_rows):
        raise Doubt("rows")
    typed = _typed(plan, spec, raw, lines, rust_spaces, padded, unread, long)
    if cells is not None and not is_parquet(path):  # the cells of a file the fast path accepted
        cells[spec.name] = (raw, lines, _header_positions(spec, blob))
    return typed


# The bytes a padding character (cells.TRIM) is written with, besides the line ends: the
# ASCII ones, and the first byte of the UTF-8 of the others (U+0085 and U+00A0: C2; U+1680:
# E1; U+2000 to U+205F: E2; U+3000: E3). Each is looked for alone (memchr: a few ms for
# 60 MB, where a search of two or three bytes takes ten times as long).
_PAD_ASCII = (b" ", b"\t", b"\x0b", b"\x0c") + RUST_LACKS
_PAD_LEAD = (b"\xc2", b"\xe1", b"\xe2", b"\xe3")


def unpadded(blob: bytes) -> bool:
    """No cell of this CSV file can have padding: it has no quote (so no line end inside a
    cell: a CR is part of a CRLF, which polars drops, or a CR alone, which _raw_cells
    rewrites) and no byte of a padding character. Trimming every cell then changes none,
    and is skipped (a pass over every cell, and a copy of each column)."""
    if b'"' in blob or any(b in blob for b in _PAD_ASCII):
        return False
    return blob.isascii() or not any(b in blob for b in _PAD_LEAD)


def _read(spec: InputTable, path: str) -> bytes:
    """The file's bytes (a regular file only: KR412 at once for a FIFO or a device)."""
    if spec.dialect is not None:  # a declared dialect: its canonical CSV (errors: the strict loader's)
        try:
            blob = dialects.canonical_bytes(spec, path)
        except KamError:
            raise Doubt("a cell that does not fit the dialect") from None
        if not blob or b"\x00" in blob:
            raise Doubt("empty or NUL")
        return blob
    try:
        with inputs.open_input(spec, path, binary=True) as fh:
            blob = fh.read()
    except KamError:
        raise Doubt("missing, unreadable or not a regular file: the strict loader words it") from None
    if blob.startswith(_BOM):
        blob = blob[len(_BOM):]
        if blob.startswith(_BOM):
            raise Doubt("a second byte-order mark")  # the strict loader's KR402
    if not blob or b"\x00" in blob:
        raise Doubt("empty or NUL")
    return blob  # not UTF-8: polars refuses it as the file is split (PolarsError: a doubt)


def _raw_cells(spec: InputTable, blob: bytes, padded: bool = True) -> tuple[pl.DataFrame, pl.Series]:
    """(declared columns as strings, non-blank records only; their line numbers).
    padded=False: the file is `unpadded` (a blank cell is then an empty one)."""
    return _split(spec, blob, padded)[:2]


def _split(spec: InputTable, blob: bytes, padded: bool = True) -> tuple[pl.DataFrame, pl.Series, set | None]:
    """_raw_cells, and the declared columns that may hold a cell of more than MAX_CELL_CHARS
    characters (None: not known, `_long_columns` counts them)."""
    if blob.count(b",", 0, blob.find(b"\n")) >= min(_WIDE, limits.MAX_COLUMNS):  # the strict loader reads only the declared columns, and refuses too many
        raise Doubt("a wide header")
    if b'"' not in blob:
        # CRLF or CR line ends: the csv module ends a line at either. polars drops the CR of
        # a CRLF itself, so only a CR alone (or a last line ending in CR) needs the rewrite
        if b"\r" in blob and (not blob.endswith(b"\n") or _LONE_CR.search(blob)):
            blob = _lf_only(blob)
        try:
            return _split_counted(spec, blob, padded)
        except Uncounted:  # a line of another width (a blank one, maybe), LF and CRLF mixed...
            return *_split_plain(spec, blob, padded), None
    try:
        return *_split_records(spec, blob), None
    except Doubt:  # a quote inside an unquoted cell, a CR alone outside quotes...: the csv module splits it
        return *_split_quoted(spec, blob), None


def _lf_only(blob: bytes) -> bytes:
    """Every line end (CRLF, CR alone, LF) as LF, as the csv module ends lines."""
    return blob.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


_LONE_CR = re.compile(rb"\r(?!\n)")  # one pass, where counting CRs and CRLFs took two
_WIDE = 1000  # header cells from which polars' whole-row checks cost more than the csv module


def _positions(spec: InputTable, header: list) -> dict:
    """Declared column -> index in the header (stripped cells); Doubt if one is missing or twice."""
    header = [h.strip() for h in header]
    positions = {}
    for name in spec.columns:
        if header.count(name) != 1:
            raise Doubt("header")
        positions[name] = header.index(name)
    return positions


_OPTS = dict(has_header=False, infer_schema=False, empty_string_is_null=False)


class Uncounted(Exception):
    """The bytes of a file without quotes do not add up to full lines: _split_plain splits it."""


def _split_counted(spec: InputTable, blob: bytes, padded: bool) -> tuple[pl.DataFrame, pl.Series, set]:
    """_split_plain's records, with no count of the commas, for a file without quotes whose
    every CR is part of a CRLF (the caller rewrote the others) and whose bytes add up to
    full lines. polars (no quote character, a line of more cells than the header refused)
    splits each line at its LF, drops one CR that ends a cell (here: the CR of a CRLF, which
    ends the line's last cell) and cuts the line at commas into at most `width` cells (the
    missing ones empty). So the file's bytes are the cells' bytes, the commas (at most
    width - 1 a line), the LFs and the CRs (at most one a line): when they add up with
    width - 1 commas a line (and, if the file has a CR, one CR a line), every line has
    `width` cells. Uncounted otherwise (a line of fewer or more cells, blank or not, LF and
    CRLF line ends mixed, not UTF-8...: _split_plain decides)."""
    try:
        cells = pl.read_csv(blob, quote_char=None, truncate_ragged_lines=False, **_OPTS)
    except pl.exceptions.PolarsError:  # a line of more cells, not UTF-8...
        raise Uncounted("polars") from None
    feeds = blob.count(b"\n")
    lines = feeds + (not blob.endswith(b"\n"))  # (a file with a CR ends in LF)
    if cells.height != lines:
        raise Uncounted("line count")
    sizes = cells.select(pl.all().str.len_bytes().sum().name.suffix("+"),
                         pl.all().str.len_bytes().max().name.suffix("^")).row(0)
    width = cells.width
    crs = feeds if b"\r" in blob else 0  # every line ends in CRLF, if the sum is right
    if len(blob) != sum(sizes[:width]) + (width - 1) * lines + feeds + crs:
        raise Uncounted("bytes")
    if max(sizes[width:]) > csv.field_size_limit():
        raise Doubt("a cell over the csv field limit")
    # every line has its `width` cells: a blank line is one whose cells are all blank
    raw, lines = _declared(spec, cells, _blank_rows(cells, padded), pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
                           checked=True)
    long = {n for n, p in _positions(spec, list(cells.row(0))).items() if sizes[width + p] > limits.MAX_CELL_CHARS}
    return raw, lines, long


def _split_plain(spec: InputTable, blob: bytes, padded: bool = True) -> tuple[pl.DataFrame, pl.Series]:
    """A file without quotes and with LF line ends: one physical line is one record, split
    by polars. A line of padding and commas only is blank whatever its number of cells (the
    strict loader skips it); every other line has the header's width."""
    try:  # a line with more cells than the header is cut (the commas are counted below)
        cells = pl.read_csv(blob, quote_char=None, truncate_ragged_lines=True, **_OPTS)
    except pl.exceptions.PolarsError:
        raise Doubt("polars") from None
    lines = blob.count(b"\n") + (not blob.endswith(b"\n"))
    if cells.height != lines:
        raise Doubt("line count")
    width = cells.width
    blank = _blank_rows(cells, padded)
    if blank is None:  # no blank line: every line has width cells iff the commas add up
        if blob.count(b",") != (width - 1) * lines:
            raise Doubt("cell count")
    else:  # blank: the whole line, not only its first `width` cells
        text = _lines(blob)
        if text.len() != cells.height:
            raise Doubt("line count")
        blank = text.str.contains("^[" + _PAD + ",]*$")
        if ((text.str.count_matches(",", literal=True) != width - 1) & ~blank).any():
            raise Doubt("cell count")
        blank = blank if blank.any() else None
    return _declared(spec, cells, blank, pl.int_range(1, pl.len() + 1, dtype=pl.Int64))


def _declared(spec: InputTable, cells: pl.DataFrame, blank: pl.Series | None,
              line: pl.Expr, checked: bool = False) -> tuple[pl.DataFrame, pl.Series]:
    """(the declared columns of the records after the header, blank ones left out; the line
    each ends on), from every record split (the header first) and its end line. checked: no
    cell is over the csv module's field limit (the caller knows)."""
    positions = _positions(spec, list(cells.row(0)))
    if not checked and cells.select(pl.any_horizontal(pl.all().str.len_bytes() > csv.field_size_limit()).any()).item():
        raise Doubt("a cell over the csv field limit")
    cells = cells.select(*(pl.col(cells.columns[p]).alias(n) for n, p in positions.items()), line.alias("__row"))
    if blank is not None:
        cells = cells.filter(~blank)
    cells = cells[1:]
    return pl.DataFrame([cells[n] for n in positions]), cells["__row"]


def _split_records(spec: InputTable, blob: bytes) -> tuple[pl.DataFrame, pl.Series]:
    """A file with quotes, split by polars when the whole file is well-formed records as
    the csv module reads them (quoted cells with `""` inside and any line break, unquoted
    cells without quotes or line breaks, CRLF or LF line ends) of the header's width, or
    blank lines; a record ends on the line its start line plus its quoted line breaks say."""
    try:
        rows = pl.read_csv(blob, quote_char='"', **_OPTS)
    except pl.exceptions.PolarsError:
        raise Doubt("polars") from None
    width = rows.width
    record = f"{_CELL}(?:,{_CELL}){{{width - 1}}}"
    blank = "[" + _PAD.replace("\\u000A", "").replace("\\u000D", "") + ",]*"
    shape = f"^(?:(?:{record}|{blank})\r?\n)*(?:{record}|{blank})$"
    try:
        whole = pl.Series([blob.decode("utf-8")]).str.contains(shape).item()
    except pl.exceptions.PolarsError:  # a pattern too large for the regex engine (a wide header)
        raise Doubt("shape") from None
    if not whole:
        raise Doubt("not well-formed records")
    breaks = pl.sum_horizontal(pl.all().str.count_matches("\r\n|\r|\n")).cum_sum()
    line = pl.int_range(1, pl.len() + 1, dtype=pl.Int64) + breaks.cast(pl.Int64)
    return _declared(spec, rows, _blank_rows(rows), line)


def _lines(blob: bytes) -> pl.Series:
    """The physical lines of the file, as written (a CRLF's CR dropped)."""
    return pl.read_csv(blob, separator="\x00", quote_char=None, has_header=False, infer_schema=False,
                       empty_string_is_null=False).to_series()


_CELL = r'(?:"(?:[^"]|"")*"|[^",\r\n]*)'


def _blank_rows(cells: pl.DataFrame, padded: bool = True) -> pl.Series | None:
    """Which lines (the header too) have only blank cells, or None when none has.
    padded=False: no cell has padding, so only an empty first cell may start a blank line
    (its length is known: no pattern is matched on every line)."""
    first = cells.to_series(0)
    if not (first.str.contains(_BLANK) if padded else first.str.len_bytes() == 0).any():
        return None
    blank = cells.select(pl.all_horizontal(pl.all().str.contains(_BLANK))).to_series()
    return blank if blank.any() else None


def _split_quoted(spec: InputTable, blob: bytes) -> tuple[pl.DataFrame, pl.Series]:
    """Quotes in the file: split by the csv module, as the strict loader does."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise Doubt("not UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records, lines = [], []
    try:
        header = next(reader, None)
        positions = _positions(spec, header or [])
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
    cells = pl.DataFrame({n: pl.Series(columns[p], dtype=pl.String) for n, p in positions.items()})
    return cells, pl.Series("__row", lines, dtype=pl.Int64)


# ------------------------------------------------------------------ checking and typing

def _typed(plan: CheckedPlan, spec: InputTable, raw: pl.DataFrame, lines: pl.Series,
           rust_spaces: bool = False, padded: bool = True, unread: set | tuple = (),
           long: set | None = None) -> pl.DataFrame:
    """The typed frame; Doubt when a cell is not of the grammar's form (the strict loader
    words it), a key or unique column repeats a value; Beyond when every cell is valid but
    a number does not fit the columns. rust_spaces: no cell has a character of RUST_LACKS
    (the cells are then trimmed by polars' own, faster, whitespace rule); padded=False: no
    cell has padding at all (`unpadded`), none is trimmed. unread: numeric columns checked
    but left out (not converted: no Beyond for them). long: the columns that may hold a cell
    of more than MAX_CELL_CHARS characters (None: `_long_columns`)."""
    names = list(spec.columns)
    trim = WHITESPACE if not rust_spaces else None
    trimmed = raw.select((pl.col(n).str.strip_chars(trim) if padded else pl.col(n)).alias(f"__t{i}")
                         for i, n in enumerate(names))
    frame = pl.concat([raw, trimmed], how="horizontal")
    exprs, bad, beyond = [], [], []
    long = _long_columns(raw) if long is None else long
    for i, (name, col) in enumerate(spec.columns.items()):
        value, problem, failed = cell_checks(col.type.kind, col.type.currency, plan.fiscal_start, col.optional,
                                             pl.col(name), f"__t{i}", trimmed[f"__t{i}"], name in long,
                                             name not in unread)
        if value is not None:
            exprs.append(value.alias(name))
        bad.append(problem)
        if failed is not None:
            beyond.append(failed)
    checked = frame.lazy().select(*exprs, pl.any_horizontal(bad).alias("__bad"),  # lazy: shared parts once
                                  (pl.any_horizontal(beyond) if beyond else pl.lit(False)).alias("__beyond")).collect()
    flags = checked.select(pl.col("__bad").any(), pl.col("__beyond").any()).row(0)
    if flags[0]:
        raise Doubt("a cell")
    # the columns as they are (DataFrame.drop runs a query that copied 65 MB of case 01's deals)
    typed = pl.DataFrame(checked.get_columns()[:-2])
    if _repeats(typed, [n for n, c in spec.columns.items() if c.unique or n == spec.key]):
        raise Doubt("a duplicate")
    if flags[1]:
        raise Beyond(f"a number in {spec.name} beyond Decimal(38, {SCALE})")
    id_col = spec.key or next(iter(spec.columns))
    # one chunk per column: polars' parallel casts leave the columns cut differently, and a
    # filter, join or select of a frame whose columns are cut differently copies it whole
    # first (each time: a filter of case 01's deals 0.13 s, 0.06 s after one rechunk).
    # The id column first: `__id` is often the very same column (rechunked once, not twice)
    typed = typed.rechunk()
    ids = _ids(plan, spec.columns[id_col], raw[id_col], typed[id_col], lines)
    return typed.with_columns(lines.alias("__row").rechunk(), ids.rechunk())


def _repeats(typed: pl.DataFrame, names: list) -> bool:
    """Whether one of these columns repeats a value (null is not a value), or may (a doubt
    the strict loader clears). A column without nulls whose every value is greater than the
    one before (ids written in order) repeats none: one comparison a row, where counting
    distinct 64-bit hashes (fewer than the values on a repeat, or on a hash collision) hashes
    every value and builds a table."""
    if not names or not typed.height:
        return False
    rising = typed.select((pl.col(n).null_count() == 0) & (pl.col(n) > pl.col(n).shift(1)).all(ignore_nulls=True)
                          for n in names).row(0)
    unsure = [n for n, r in zip(names, rising) if not r]
    distinct = [pl.col(n).hash().n_unique() - (pl.col(n).null_count() > 0).cast(pl.UInt32) != pl.col(n).count()
                for n in unsure]
    return bool(unsure) and typed.select(pl.any_horizontal(distinct)).item()


def _long_columns(raw: pl.DataFrame) -> set:
    """The columns with a cell of more than MAX_CELL_CHARS bytes: only there can a cell have
    more than MAX_CELL_CHARS characters (counting bytes reads no text: polars keeps lengths)."""
    longest = raw.select(pl.all().str.len_bytes().max()).row(0) if raw.height else ()
    return {n for n, m in zip(raw.columns, longest) if m is not None and m > limits.MAX_CELL_CHARS}


def cell_checks(kind: str, currency: str | None, fiscal_start: int, optional: bool, cell: pl.Expr,
                trimmed_name: str, trimmed: pl.Series, long: bool = True, convert: bool = True):
    """(value or null when blank, where the cell is refused, where a valid number does not
    fit the columns (None: never)) as expressions over the raw cell and its trimmed text
    (the column `trimmed_name`, also given as a Series for the conversions done per distinct
    value). The grammar is cells.form(kind, currency). long=False: no raw cell of the column
    has more than MAX_CELL_CHARS bytes (_long_columns), so none is too long. convert=False
    (a number): only where the cell is refused, the value and the fit are None."""
    text = pl.col(trimmed_name)
    present = text.str.len_bytes() > 0
    form = cells.form(kind, currency)
    refused = cell.str.len_chars() > limits.MAX_CELL_CHARS if long else pl.lit(False)
    if not optional:
        refused = refused | ~present
    if kind == "text":  # padding is not part of a value (cells.TRIM); blank: refused unless optional
        return (pl.when(present).then(text) if optional else text), refused, None
    if kind in BY_DISTINCT:  # few distinct cells: each checked once, by the grammar itself
        values = _distinct_values(trimmed, kind, fiscal_start)
        if values is not None:
            # mapped here, once (an expression would be evaluated again for every use: no
            # common subexpression is shared for a mapping), then taken as a column
            value = pl.lit(_mapped(trimmed, values, DTYPES[kind]))  # "": null
            return value, refused | (present & value.is_null()), None
    shape = ~text.str.contains(_whole(form.pattern))
    if form.max_chars is not None:
        # a cell of the pattern is ASCII (cells: ASCII classes only), its bytes are its
        # characters (counting bytes costs a third), but for a rate's padding before `%`
        size = text.str.len_chars() if form.percent else text.str.len_bytes()
        shape = shape | (size > form.max_chars)
    refused = refused | (present & shape)
    if kind == "bool":
        return pl.when(present).then(text.str.contains(_whole(cells.words(cells.TRUE)))), refused, None
    if kind in NUMERIC and not convert:  # the grammar's pattern alone decides a number
        return None, refused, None
    if kind in NUMERIC:
        value = text.cast(DECIMAL, strict=False)
        if form.percent:
            pct = text.str.ends_with("%")
            # the body has at most 10 places (cells: rate), and two more digits before the point
            # than the value: read it wider, then scale it into the columns
            wide = pl.Decimal(38, 12)
            body = text.str.strip_suffix("%").str.strip_chars(WHITESPACE).cast(wide, strict=False)
            value = pl.when(pct).then((body * pl.lit(Decimal("0.01"), dtype=pl.Decimal(38, 2)))
                                      .cast(DECIMAL, strict=False)).otherwise(value)
        return value, refused, present & value.is_null()  # a valid number the columns cannot hold
    if kind == "date":
        value = text.str.to_date("%Y-%m-%d", strict=False)
    elif kind == "period":  # (many distinct cells: still converted once each)
        value = pl.lit(_mapped(trimmed, _distinct_values(trimmed, kind, fiscal_start, None), pl.String))
    else:
        raise Doubt(f"a column of kind {kind}")
    return value, refused | (present & value.is_null()), None  # a day or period the calendar lacks


def typed_cells(raw: list, kind: str, currency: str | None = None, fiscal_start: int = 1) -> list:
    """Each raw cell as the fast loader sees it: ("ok", value or None), ("refused", None) or
    ("beyond", None) (tests/test_cells.py compares it with the strict loader)."""
    frame = pl.DataFrame({"c": pl.Series(raw, dtype=pl.String)})
    frame = frame.with_columns(pl.col("c").str.strip_chars(WHITESPACE).alias("t"))
    value, refused, failed = cell_checks(kind, currency, fiscal_start, True, pl.col("c"), "t", frame["t"],
                                         "c" in _long_columns(frame.select("c")))
    out = frame.select(pl.when(refused).then(None).otherwise(value).alias("v"), refused.alias("r"),
                       (failed if failed is not None else pl.lit(False)).alias("b"))
    return [("refused", None) if r else ("beyond", None) if b else ("ok", v) for v, r, b in out.iter_rows()]


# Kinds whose cells are checked and converted once per distinct trimmed cell (by the grammar's
# Form.accepts and Form.convert, in Python) and mapped back to the rows, when a column has at
# most DISTINCT_MAX of them: a date column of a million rows has a few hundred days, and one
# lookup per row costs less than the grammar's regex and a parse per row.
BY_DISTINCT = ("date", "period", "bool")
DISTINCT_MAX = 20_000


def _distinct_values(trimmed: pl.Series, kind: str, fiscal_start: int, most: int | None = DISTINCT_MAX) -> dict | None:
    """Each distinct trimmed cell of the grammar's form to its value as the column holds it
    (a period: its key), once per distinct cell; a cell left out is refused (or empty).
    None when there are more than `most` distinct cells (None: no bound)."""
    distinct = trimmed.unique()
    if most is not None and distinct.len() > most:
        return None
    form, values = cells.form(kind), {}
    for text in distinct.to_list():
        if text and form.accepts(text):
            try:
                value = form.convert(text, fiscal_start)
            except ValueError:  # a day or a period the calendar lacks
                continue
            values[text] = period_key(value) if kind == "period" else value
    return values


def _mapped(trimmed: pl.Series, values: dict, dtype) -> pl.Series:
    """Each cell's value in `values` (null when it is not a key), as a column of dtype: the
    cells cast to an Enum of the keys (one lookup a row), its codes gathering the values
    (trimmed.replace_strict(values, default=None) took a third more)."""
    codes = trimmed.cast(pl.Enum(list(values)), strict=False).to_physical()
    return pl.Series(trimmed.name, list(values.values()), dtype=dtype).gather(codes)


def _ids(plan: CheckedPlan, col, raw: pl.Series, values: pl.Series, lines: pl.Series) -> pl.Series:
    """strict.Row.id: str of the id column's value, or `row N` when it is empty."""
    if col.type.kind == "text":
        if not values.has_nulls():
            return values.alias("__id")
        shown = values
    else:
        distinct = [c for c in raw.unique().to_list() if c.strip()]
        names = {c: str(strict.parse_value(c, col.type.kind, col.type.currency, plan.fiscal_start))
                 for c in distinct}
        shown = raw.replace_strict(names, default=None, return_dtype=pl.String)
    parts = pl.DataFrame({"empty": values.is_null(), "shown": shown, "line": lines})
    return parts.select(pl.when(pl.col("empty")).then(pl.lit("row ") + pl.col("line").cast(pl.String))
                        .otherwise(pl.col("shown")).alias("__id")).to_series()


# ------------------------------------------------------------------ checks across tables

def _check_payees(plan: CheckedPlan, frames: dict, folder: str) -> None:
    payees = frames.get(plan.payees_table)
    if payees is not None and payees.height == 0:
        path = input_path(plan.inputs[plan.payees_table], folder)
        raise KamError([Diagnostic("KR403", f"{path} has no rows, but the plan pays the rows of "
                                   f"`{plan.payees_table}` (`payees {plan.payees_table}`)",
                                   Span(path, 2, 1, 2, 2), "check the export: only a header was written")])


def _check_references(plan: CheckedPlan, frames: dict, folder: str, max_rows: int | None) -> None:
    """`references` columns: every value a key of the target table. On a miss, the same
    diagnostics as kamrules.data.references.check_references."""
    broken = False
    for name, spec in plan.inputs.items():
        for col in spec.columns.values():
            if col.references is None:
                continue
            tkey = target_key(plan, col.references)
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
    """check_references on tables rebuilt from the
    frames when the columns involved are text (values equal to the strict loader's), else on
    the strict loader's tables."""
    involved: dict = {}
    for name, spec in plan.inputs.items():
        for col in spec.columns.values():
            if col.references is not None:
                involved.setdefault(name, set()).add(col.name)
                tkey = target_key(plan, col.references)
                involved.setdefault(col.references, set()).add(tkey)
    text_only = all(c is not None and plan.inputs[t].columns[c].type.kind == "text"
                    for t, cols in involved.items() for c in cols)
    if text_only:
        tables = {name: _skeleton(plan, name, frames[name], involved.get(name, set()), folder)
                  for name in plan.inputs}
    else:
        tables = strict.load_data(plan, folder, max_rows)
    diags = check_references(plan, tables)
    if diags:
        raise KamError(diags)


def _skeleton(plan: CheckedPlan, name: str, frame: pl.DataFrame, columns: set, folder: str):
    """A strict.Table with the rows' numbers and only the given (text) columns."""
    columns = sorted(columns)
    numbers = frame["__row"].to_list()
    cells = [frame[c].to_list() for c in columns]
    rows = [strict.Row(name, n, "", dict(zip(columns, vals))) for n, *vals in zip(numbers, *cells)]
    spec = plan.inputs[name]
    return strict.Table(spec, input_path(spec, folder), rows)
