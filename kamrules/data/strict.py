"""Input tables: reads the CSV (or JSON) files a plan declares and validates them against
its schema.

Every value is parsed to its declared type (Money and ratios as Decimal, never float); each
problem is a Diagnostic pointing at file:row:column with the raw value. Which cells are
valid, and their values, is the cell grammar's (kamrules.data.cells, which the fast loader
kamrules.data.fast follows too); this module reads the files and words every refusal. Rows keep their line
number and id so traces can cite them.

Accepted and rejected, on purpose:
- CSV: UTF-8 with or without BOM, LF or CRLF line ends, RFC 4180 quoting. A header cell
  is stripped; a column the plan declares twice in the header is an error.
- Padding: surrounding whitespace of every cell (what str.strip removes: spaces, tabs,
  NBSP, other Unicode spaces) is not part of its value, Text included: ` eq-001 `, ` 12 `
  and ` 2025-04-01` are `eq-001`, 12 and 2025-04-01, so keys, references and comparisons
  see the trimmed text. A cell of whitespace only is empty. (Same rule in JSON strings.)
- A second byte-order mark (the first header cell starting with U+FEFF) is refused (KR402).
- Numbers are plain decimals in ASCII digits: `1234.56`, `-3`, `.5`; rates may end in `%`.
  Rejected with a reason: thousands separators or decimal commas (`1,000.00`), `1_000`,
  exponents (`1e5`), `NaN`, `Infinity`, other digits than 0-9 (Arabic-Indic...), and more
  than 40 characters. A Money cell may not carry more decimal places than its currency
  has (EUR 2, JPY 0, KWD 3: `MINOR_UNITS`); trailing zeros are fine (`12.50`, `12.500`).
  The exact range (limits.py): at most 18 digits before the point, and at most 12 after it
  for Number and Rate (10 for a Rate written with `%`); beyond is KR414, never rounded.
- Dates are `YYYY-MM-DD` and must exist (2025-02-30 is rejected).
- Parquet (`input deals from "deals.parquet"`, needs polars): read through
  kamrules.data.parquet as the same text cells, so the same rules apply; float columns are
  refused.
- JSON (`input deals from "deals.json"`): an array of flat objects, one per row; a key
  absent or `null` is an empty cell. Numbers are read from their text into Decimal (never
  float) with the same rules as CSV cells, so `1e5` and `1.005` (EUR) are rejected too;
  `NaN`/`Infinity`, duplicate keys in an object, nested arrays or objects, a number in a
  Text column and a `true`/`false` outside a Bool column are errors. The row number
  reported is the line where the object starts.
- Limits (kamrules/core/limits.py): rows per table, characters per cell, columns per header
  (only the declared columns are read from each row); dates up to limits.MAX_DATE.
- Where the files are and which ones may be read (inside the data folder, regular files
  only): kamrules/files/inputs.py.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from decimal import Decimal

import attrs

from kamrules.core import limits
from kamrules.data import cells

from kamrules.files import inputs
from kamrules.files.encoding import bad_utf8
from kamrules.core.calendar import parse_period
from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.check.plan import CheckedPlan, InputTable
from kamrules.data.parquet import is_parquet, parquet_cells
from kamrules.data import dialect as dialects
from kamrules.diagnostics.source import Span

_DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_SPECIAL = {"nan", "+nan", "-nan", "snan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
MAX_FIELD = limits.MAX_CELL_CHARS  # kept for callers of the old name
MINOR_UNITS = cells.MINOR_UNITS  # kept for callers of the old name
minor_units = cells.minor_units


@attrs.define(slots=True, eq=False)
class Row:
    table: str
    number: int  # line number in the file (header is line 1)
    id: str
    values: dict

    def __getitem__(self, column):
        return self.values[column]

    def ref(self) -> dict:
        return {"table": self.table, "row": self.number, "id": self.id}


@attrs.define
class Table:
    spec: InputTable
    path: str
    rows: list
    _key_index: dict | None = None
    _indexes: dict = attrs.Factory(dict)

    def by_key(self) -> dict:
        if self._key_index is None:
            self._key_index = {r.values[self.spec.key]: r for r in self.rows}
        return self._key_index

    def index(self, column: str, keyfn=None) -> dict:
        """Rows grouped by the value of `column` (or keyfn(value)), built once."""
        key = (column, keyfn)
        if key not in self._indexes:
            idx: dict = {}
            for r in self.rows:
                v = r.values[column]
                if keyfn is not None and v is not None:
                    v = keyfn(v)
                idx.setdefault(v, []).append(r)
            self._indexes[key] = idx
        return self._indexes[key]


def _number_reason(text: str, s: str) -> str:
    """Why `s` (the stripped cell) is not a plain decimal number."""
    low = s.lower()
    bad_digit = next((ch for ch in s if ch.isdigit() and ch not in "0123456789"), None)
    if bad_digit is not None:
        return f"`{text}` uses the digit {bad_digit!r} (U+{ord(bad_digit):04X}); write digits 0-9"
    if low.lstrip("+-") in {x.lstrip("+-") for x in _SPECIAL}:
        return f"`{text}` is not a number (NaN and Infinity are not amounts)"
    if "," in s:
        return (f"`{text}` has a comma: no thousands separator and no decimal comma "
                "(write 1234.56)")
    if "_" in s or re.fullmatch(r"[+-]?[0-9]{1,3}([ '\u00a0\u202f][0-9]{3})+(\.[0-9]*)?", s):
        return f"`{text}` has a digit separator (write 1234.56, without `_`, spaces or quotes)"
    if re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)e[+-]?[0-9]+", low):
        return f"`{text}` has an exponent (write the number out in full: 1500000, not 1.5e6)"
    return f"`{text}` is not a decimal number (write 1234.56: a dot, no thousands separator)"


class OutOfRange(ValueError):
    """A number cell beyond the exact range (limits.MAX_INTEGER_DIGITS / MAX_FRACTION_DIGITS)."""
    code = "KR414"
    hint = (f"kamrules computes exactly with at most {limits.MAX_INTEGER_DIGITS} digits before the "
            f"point and {limits.MAX_FRACTION_DIGITS} after (Money: its currency's decimals); the "
            "cell is never rounded: fix the export")


def _check_range(text: str, body: str, kind: str, pct: bool, currency: str | None) -> None:
    """OutOfRange when the plain decimal `body` has too many digits before or after the point
    (leading zeros before and trailing zeros after it do not count)."""
    whole, _, frac = body.lstrip("+-").partition(".")
    whole, frac = whole.lstrip("0"), frac.rstrip("0")
    if len(whole) > limits.MAX_INTEGER_DIGITS:
        raise OutOfRange(f"`{text}` has {len(whole)} digits before the point (at most "
                         f"{limits.MAX_INTEGER_DIGITS}: number outside the supported range)")
    if kind == "money":
        places = minor_units(currency)
        if len(frac) > places:  # the currency's rule, older than the range: KR403
            raise _hinted(f"`{text}` has more decimal places than {currency} has ({places})",
                          f"an amount in {currency} has at most {places} decimal places: round it in "
                          "the export (kamrules never rounds a cell), or declare the column `Number` "
                          "if it is not an amount")
        return
    places = limits.MAX_FRACTION_DIGITS - (2 if pct else 0)
    if len(frac) > places:
        raise OutOfRange(f"`{text}` has {len(frac)} digits after the point (at most {places}"
                         f"{' with `%`' if pct else ''}: number outside the supported range)")


def parse_value(text: str, kind: str, currency: str | None, fiscal_start: int = 1):
    """Parse one cell to the runtime value of `kind`; raise ValueError with a reason that
    quotes the raw text (OutOfRange, code KR414, beyond the exact numeric range). Every
    cell, Text included, is first stripped of its padding (str.strip). Whether a cell is
    valid, and its value, is the cell grammar's (kamrules.data.cells); this module only
    words why a cell is not."""
    s = text.strip()
    form = cells.form(kind, currency)
    if form.accepts(s):
        try:
            return form.convert(s, fiscal_start)
        except ValueError:
            pass  # a day or a period the calendar does not have: worded below
    _refuse(text, s, kind, currency, fiscal_start)
    raise ValueError(f"`{text}` is not a valid {kind}")  # not reached: _refuse words every refusal


NUMBER_HINT = ("fix the cell in the export: a dot before the decimals, no thousands separator, no "
               "exponent (1234.56); a file in another convention declares it: `with decimal \",\" "
               "thousands \" \"` (docs/language.md)")
PERIOD_HINT = ("fix the cell in the export: a quarter 2025-Q1, a month 2025-03 or a year 2025 (with a "
               "fiscal year, the quarters and years of the plan's fiscal calendar)")
DATE_HINT = ("fix the cell in the export (YYYY-MM-DD, e.g. 2025-04-01); a file in another convention "
             "declares it: `with date \"DD/MM/YYYY\"` (docs/language.md)")


def _hinted(message: str, hint: str) -> ValueError:
    """A refusal whose diagnostic carries `hint` (cell_error reads the error's `hint`)."""
    err = ValueError(message)
    err.hint = hint
    return err


def _refuse(text: str, s: str, kind: str, currency: str | None, fiscal_start: int) -> None:
    """Raise ValueError (OutOfRange) saying why the trimmed cell `s` is not of `kind`."""
    if kind in ("money", "number", "rate", "count"):
        if len(s) > limits.MAX_NUMBER_DIGITS:
            raise ValueError(f"`{text[:20]}...` is a number of {len(s)} characters (at most "
                             f"{limits.MAX_NUMBER_DIGITS})")
        pct = kind == "rate" and s.endswith("%")
        body = s[:-1].strip() if pct else s
        if not _DECIMAL.match(body):
            raise _hinted(_number_reason(text, body), NUMBER_HINT)
        _check_range(text, body, kind, pct, currency)
        if kind == "count" and Decimal(body) != Decimal(body).to_integral_value():
            raise _hinted(f"`{text}` is not a whole number",
                          "a Count is a whole number: fix the cell, or declare the column `Number`")
        return
    if kind == "date":
        if not _DATE.match(s):
            raise _hinted(f"`{text}` is not a date (expected YYYY-MM-DD, e.g. 2025-04-01)", DATE_HINT)
        try:
            day = dt.date.fromisoformat(s)
        except ValueError as err:
            raise _hinted(f"`{text}` is not a date that exists ({err})",
                          "the calendar has no such day (a 31st in a 30-day month, 29 February outside a "
                          "leap year): fix the cell in the export") from None
        if day > limits.MAX_DATE:
            raise _hinted(f"`{text}`: " + limits.date_range_problem(day), "fix the cell in the export")
        return
    if kind == "period":
        if any(ch.isdigit() and ch not in "0123456789" for ch in s):
            raise _hinted(f"`{text}` is not a period (write 2025-Q1, 2025-03 or 2025)", PERIOD_HINT)
        try:
            p = parse_period(s, fiscal_start)
        except ValueError as err:
            raise _hinted(str(err), PERIOD_HINT) from None
        problem = limits.period_range_problem(p)
        if problem:
            raise _hinted(f"`{text}` " + problem, PERIOD_HINT)
        return
    if kind == "bool" and s.lower() not in cells.TRUE + cells.FALSE:
        raise _hinted(f"`{text}` is not true or false",
                      "write true or false (also yes/no, y/n, 1/0, in any case)")


class _JsonNumber(str):
    """The text of a JSON number, kept as written (never a float)."""


class _JsonReject(Exception):
    pass


def _json_constant(name):
    raise _JsonReject(f"`{name}` is not a number")


def _json_object(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _JsonReject(f"the key `{k}` appears twice in one object")
        out[k] = v
    return out


_JSON = json.JSONDecoder(parse_float=_JsonNumber, parse_int=_JsonNumber, parse_constant=_json_constant,
                         object_pairs_hook=_json_object)
_WS = re.compile(r"[ \t\n\r]*")


def _json_records(path: str, text: str):
    """(line, column, object) for each item of a JSON array; KamError on malformed JSON."""
    def err(pos, msg, hint=None):
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return KamError([Diagnostic("KR403", f"{path}: {msg}", Span(path, line, col, line, col + 1),
                                    hint or "an input file in JSON is an array of objects: [{\"id\": \"a\"}, ...]")])
    pos = _WS.match(text, 0).end()
    if text[pos:pos + 1] != "[":
        raise err(pos, "is not a JSON array")
    pos = _WS.match(text, pos + 1).end()
    line, line_pos = 1, 0
    if text[pos:pos + 1] == "]":
        pos += 1
    else:
        while True:
            line += text.count("\n", line_pos, pos)
            line_pos = pos
            col = pos - (text.rfind("\n", 0, pos) + 1) + 1
            try:
                obj, end = _JSON.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                raise err(e.pos, f"is not valid JSON: {e.msg}") from None
            except _JsonReject as e:
                raise err(pos, f"item at line {line}: {e}") from None
            except RecursionError:
                raise err(pos, f"item at line {line} nests too deeply") from None
            if not isinstance(obj, dict):
                raise err(pos, f"item at line {line} is not an object")
            yield line, col, obj
            pos = _WS.match(text, end).end()
            ch = text[pos:pos + 1]
            if ch == ",":
                pos = _WS.match(text, pos + 1).end()
                continue
            if ch == "]":
                pos += 1
                break
            raise err(pos, "expected `,` or `]` after an item")
    if _WS.match(text, pos).end() != len(text):
        raise err(pos, "has text after the closing `]`")


class _Loader:
    """Validates records (CSV rows or JSON objects) against one input's columns."""

    def __init__(self, spec: InputTable, path: str, fiscal_start: int, max_rows: int | None):
        self.spec, self.path, self.fiscal_start = spec, path, fiscal_start
        self.base = os.path.basename(path)
        self.max_rows = limits.MAX_ROWS if max_rows is None else max_rows
        self.diags: list[Diagnostic] = []
        self.rows: list[Row] = []
        self.id_col = spec.key or next(iter(spec.columns))
        self.seen_unique = {c: {} for c, s in spec.columns.items() if s.unique or c == spec.key}

    def full(self) -> bool:
        return len(self.diags) >= limits.MAX_DIAGNOSTICS

    def cell_error(self, code, line, col, name, message, hint=None, number=None):
        self.diags.append(Diagnostic(code, f"{self.base} row {number or line}, column `{name}`: {message}",
                                     Span(self.path, line, col, line, col + 1), hint))

    def check_count(self, line):
        if len(self.rows) >= self.max_rows:
            raise KamError([Diagnostic("KR408", f"{self.path} has more than {self.max_rows} rows",
                                       Span(self.path, line, 1, line, 2),
                                       "split the export (e.g. by year) or raise kamrules.core.limits.MAX_ROWS")])

    def add(self, line: int, cells: dict, number: int | None = None):
        """cells: column -> (raw value, position); raw is str, _JsonNumber, bool or None.
        number: the row's number when it is not its line (a JSON array whose items share a
        line: every row would be row 1, and rows are told apart by their number)."""
        number = line if number is None else number
        values = {}
        max_chars, fiscal = limits.MAX_CELL_CHARS, self.fiscal_start
        for name, col in self.spec.columns.items():
            raw, pos = cells.get(name, (None, 1))
            kind = col.type.kind
            if type(raw) is str:  # a CSV cell or a JSON string: the common case
                if len(raw) > max_chars:
                    self.cell_error("KR408", line, pos, name, f"the value `{raw[:20]}...` has {len(raw)} "
                                    f"characters (at most {max_chars})", number=number)
                    values[name] = None
                    continue
                if raw and (not raw[0].isspace() or raw.strip()):
                    try:
                        values[name] = raw.strip() if kind == "text" else parse_value(raw, kind, col.type.currency, fiscal)
                    except ValueError as err:
                        self.cell_error(getattr(err, "code", "KR403"), line, pos, name, f"({col.type}) {err}",
                                        getattr(err, "hint", None), number=number)
                        values[name] = None
                    continue
                raw = None
            if raw is None:
                if not col.optional:
                    self.cell_error("KR403", line, pos, name, "empty but the column is required",
                                    f"declare it `{name}: optional {col.type}` if it may be empty, or fill it",
                                    number=number)
                values[name] = None
                continue
            try:
                if isinstance(raw, bool):
                    if kind != "bool":
                        raise ValueError(f"`{str(raw).lower()}` is not a {col.type}")
                    values[name] = raw
                elif isinstance(raw, _JsonNumber):
                    if kind not in ("money", "number", "rate", "count"):
                        raise ValueError(f"the number `{raw}` is not a {col.type} (write it as a string)")
                    values[name] = parse_value(str(raw), kind, col.type.currency, fiscal)
                else:
                    raise ValueError(f"`{json.dumps(raw)[:40]}` is not a {col.type} (nested values "
                                     "are not read)")
            except ValueError as err:
                self.cell_error(getattr(err, "code", "KR403"), line, pos, name, f"({col.type}) {err}",
                                getattr(err, "hint", None), number=number)
                values[name] = None
        for ucol, seen in self.seen_unique.items():
            v = values.get(ucol)
            if v is None:
                continue
            if v in seen:
                raw, pos = cells.get(ucol, ("", 1))
                self.cell_error("KR404", line, pos, ucol, f"`{raw}` appears twice (rows {seen[v]} and {number})",
                                f"`{ucol}` is declared {'the key' if ucol == self.spec.key else 'unique'}",
                                number=number)
            else:
                seen[v] = number
        ident = values.get(self.id_col)
        self.rows.append(Row(self.spec.name, number, str(ident) if ident is not None else f"row {number}", values))

    def header_errors(self, header: list, where: Span, required_only: bool = False):
        diags, present = [], set(header)
        for name, col in self.spec.columns.items():
            if name not in present and not (required_only and col.optional):
                hint = did_you_mean(name, header) or (f"columns in the file: {', '.join(header)}"
                                                      if header else "the file has no columns")
                diags.append(Diagnostic("KR402", f"{self.path} has no column `{name}` (declared in input "
                                        f"`{self.spec.name}`)", where, hint))
        return diags


def load_table(spec: InputTable, path: str, fiscal_start: int = 1, max_rows: int | None = None,
               keep: set | None = None) -> Table:
    """Read and validate one input file (CSV, or JSON when the name ends in .json). `path`
    comes from kamrules.files.inputs.resolve (inside the data folder); it is opened only if it is
    a regular file (inputs.open_input). keep: the line numbers of the CSV rows to read (the
    others are skipped unread: for a file the fast loader has already accepted)."""
    if path.lower().endswith(".json"):
        return _load_json(spec, path, fiscal_start, max_rows)
    if is_parquet(path):
        return _load_parquet(spec, path, fiscal_start, max_rows)
    loader = _Loader(spec, path, fiscal_start, max_rows)
    with dialects.open_text(spec, path) as fh:  # a declared dialect: read as canonical CSV
        reader = csv.reader(fh, strict=True)
        header, last = None, 0  # the line the previous record ended on (for an unclosed quote)
        try:
            header = next(reader, None)
            if header is None:
                raise KamError([Diagnostic("KR402", f"{path} is empty: expected a header row",
                                           Span(path, 1, 1, 1, 2),
                                           "the first line names the columns: " + ",".join(spec.columns))])
            if len(header) > limits.MAX_COLUMNS:
                raise KamError([Diagnostic("KR408", f"{path} has {len(header)} columns (at most "
                                           f"{limits.MAX_COLUMNS})", Span(path, 1, 1, 1, 2),
                                           "export only the columns the plan reads")])
            if header and header[0].startswith("\ufeff"):
                raise KamError([Diagnostic("KR402", f"{path} starts with a second byte-order mark: its "
                                           "first header cell begins with U+FEFF", Span(path, 1, 1, 1, 2),
                                           "save the file as UTF-8 with at most one byte-order mark")])
            header = [h.strip() for h in header]
            other = _other_delimiter(spec, header)
            if other is not None:
                raise KamError([other_delimiter_error(spec, path, header[0], other)])
            diags = loader.header_errors(header, Span(path, 1, 1, 1, 2))
            declared = [h for h in header if h in spec.columns]  # only these are ever read
            for h in sorted({h for h in declared if declared.count(h) > 1}):
                pos = [i for i, x in enumerate(header) if x == h][1] + 1
                diags.append(Diagnostic("KR402", f"{path} has the column `{h}` twice (header cells "
                                        f"{header.index(h) + 1} and {pos})", Span(path, 1, pos, 1, pos + 1),
                                        "rename or drop one of them"))
            if diags:
                raise KamError(diags)
            positions = {name: header.index(name) for name in spec.columns}
            last = reader.line_num
            for record in reader:
                line = last = reader.line_num  # a record's last line (a quoted newline spans lines)
                if not record or all(not cell.strip() for cell in record):
                    continue
                if keep is not None and line not in keep:
                    continue
                loader.check_count(line)
                if len(record) != len(header):
                    shown = ",".join(record)
                    shown = shown if len(shown) <= 60 else shown[:57] + "..."
                    loader.diags.append(Diagnostic(
                        "KR403", f"{loader.base} row {line} has {len(record)} cells but the header has "
                        f"{len(header)}: `{shown}`", Span(path, line, 1, line, 2),
                        "quote cells that contain commas"))
                else:
                    loader.add(line, {name: (record[p], p + 1) for name, p in positions.items()})
                if loader.full():
                    break
        except csv.Error as err:
            if ("unexpected end of data" in str(err)
                                       or "field larger than field limit" in str(err)):
                opened = _unclosed_quote(spec, path, last + 1)
                if opened is not None:
                    raise KamError([opened]) from None
            if "field larger than field limit" in str(err):  # the csv module's own cap (131,072)
                raise KamError([Diagnostic("KR408", f"{path} row {reader.line_num}: a cell has more than "
                                           f"{csv.field_size_limit()} characters (a cell the plan reads has "
                                           f"at most {limits.MAX_CELL_CHARS})",
                                           Span(path, reader.line_num, 1, reader.line_num, 2),
                                           "check the export: a cell this long is not CRM data "
                                           "(an unclosed quote swallows the rest of the file)")]) from None
            raise KamError([Diagnostic("KR403", f"{path} is not valid CSV: {err}",
                                       Span(path, reader.line_num, 1, reader.line_num, 2),
                                       "check quotes: a cell with a comma or quote must be quoted, and a "
                                       'quote inside a quoted cell is doubled: "say ""hi"""')]) from None
        except UnicodeDecodeError:
            raise _not_utf8(spec, path, f'; or declare it: `input {spec.name} with encoding "{{codec}}"`') from None
    if loader.diags:
        raise KamError(loader.diags)
    return Table(spec, path, loader.rows)


_DELIMITERS = {",": '","', ";": '";"', "\t": '"tab"', "|": '"|"'}


def _other_delimiter(spec: InputTable, header: list) -> str | None:
    """The delimiter a one-cell header is really split by (`deal_id;owner_id;amount` read with
    commas), when splitting it so names a declared column; None otherwise."""
    if len(header) != 1:
        return None
    used = spec.dialect.delimiter if spec.dialect is not None else ","
    for d in _DELIMITERS:
        if d != used and d in header[0] and any(h.strip() in spec.columns for h in header[0].split(d)):
            return d
    return None


def other_delimiter_error(spec: InputTable, path: str, cell: str, delimiter: str) -> Diagnostic:
    """KR402: one diagnostic for a file separated by another character than the plan reads it
    with (instead of one 'no column' per declared column)."""
    shown = cell if len(cell) <= 60 else cell[:57] + "..."
    name = {"\t": "tabs", ",": "commas"}.get(delimiter, f"`{delimiter}`")
    return Diagnostic("KR402", f"{path}: the header is one cell, `{shown}`: the file looks separated by "
                      f"{name}", Span(path, 1, 1, 1, 2),
                      f"declare it: `input {spec.name} with delimiter {_DELIMITERS[delimiter]} {{ ... }}`"
                      " (docs/cookbook/dialects.md), or export the file with commas")


def _unclosed_quote(spec: InputTable, path: str, start: int) -> Diagnostic | None:
    """KR403 at the quote that opens a cell on line `start` and is never closed (the csv module
    reports the end of the file, where it stopped looking), or None if none is found there."""
    delimiter = ","  # the text as open_text gives it: canonical CSV
    with dialects.open_text(spec, path) as fh:
        for number, text in enumerate(fh, 1):
            if number == start:
                break
        else:
            return None
    text = text.rstrip("\r\n")
    opened, cell, at_start, cell_no = None, 1, True, 1
    i = 0
    while i < len(text):
        ch = text[i]
        if opened is not None:
            if ch == '"' and text[i + 1:i + 2] == '"':
                i += 1
            elif ch == '"':
                opened = None
        elif at_start and ch == '"':
            opened, cell = i, cell_no
        elif ch == delimiter:
            cell_no += 1
            at_start = True
            i += 1
            continue
        at_start = False
        i += 1
    if opened is None:
        return None
    base = os.path.basename(path)
    return Diagnostic("KR403", f"{base} is not valid CSV: the quote that opens cell {cell} of row {start} is "
                      "never closed, so the rest of the file would be one cell", Span(path, start, opened + 1, start, opened + 2),
                      'close the quote at the end of its cell (`"Acme, Inc."`), or remove it; a quote '
                      'inside a quoted cell is doubled: "say ""hi"""')


def _not_utf8(spec: InputTable, path: str, declare: str) -> KamError:
    """KR403 at the first byte that is not UTF-8 (its line and column), with the encoding the
    file looks written in (kamrules.files.encoding); `declare` ends the hint ({codec} filled)."""
    with inputs.open_input(spec, path, binary=True) as fh:
        bad = bad_utf8(fh)
    if bad is None:  # the file changed since it was read
        return KamError([Diagnostic("KR403", f"{path} is not UTF-8 text", Span(path, 1, 1, 1, 2),
                                    "export the file as UTF-8")])
    return KamError([Diagnostic("KR403", f"{path} is not UTF-8 text: {bad.where()}",
                                Span(path, bad.line, bad.column, bad.line, bad.column + 1),
                                bad.convert() + declare.format(codec=bad.codec))])


def table_of_records(spec: InputTable, path: str, fiscal_start: int, records) -> Table:
    """A Table of records already split (line, {column: (raw cell, position)}), each cell
    converted and checked as load_table does (for rows of a file the fast loader accepted)."""
    loader = _Loader(spec, path, fiscal_start, None)
    for line, cells in records:
        loader.add(line, cells)
    if loader.diags:
        raise KamError(loader.diags)
    return Table(spec, path, loader.rows)


def _load_parquet(spec: InputTable, path: str, fiscal_start: int, max_rows: int | None) -> Table:
    """A Parquet file's cells (kamrules.data.parquet) validated like CSV cells."""
    loader = _Loader(spec, path, fiscal_start, max_rows)
    cells, rows = parquet_cells(spec, path)
    names = list(spec.columns)
    for line, record in zip(rows.to_list(), cells.iter_rows()):
        loader.check_count(line)
        loader.add(line, {name: (cell, i + 1) for i, (name, cell) in enumerate(zip(names, record))})
        if loader.full():
            break
    if loader.diags:
        raise KamError(loader.diags)
    return Table(spec, path, loader.rows)


def _load_json(spec: InputTable, path: str, fiscal_start: int, max_rows: int | None) -> Table:
    loader = _Loader(spec, path, fiscal_start, max_rows)
    try:
        with inputs.open_input(spec, path, newline=None) as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise _not_utf8(spec, path, "") from None
    keys_seen: set = set()
    records = []
    for line, col, obj in _json_records(path, text):
        if len(records) >= loader.max_rows:
            raise KamError([Diagnostic("KR408", f"{path} has more than {loader.max_rows} rows",
                                       Span(path, line, 1, line, 2),
                                       "split the export (e.g. by year) or raise kamrules.core.limits.MAX_ROWS")])
        keys_seen.update(obj)
        records.append((line, col, obj))
    if records:
        diags = loader.header_errors(sorted(keys_seen), Span(path, records[0][0], 1, records[0][0], 2),
                                     required_only=True)
        if diags:
            raise KamError(diags)
    one_line = len({line for line, _, _ in records}) < len(records)  # then rows are numbered 2, 3... as in a CSV
    for k, (line, col, obj) in enumerate(records, 2):
        loader.add(line, {name: (obj.get(name), col) for name in spec.columns}, k if one_line else None)
        if loader.full():
            break
    if loader.diags:
        raise KamError(loader.diags)
    return Table(spec, path, loader.rows)


def load_data(plan: CheckedPlan, folder: str, max_rows: int | None = None,
              keep: dict | None = None) -> dict[str, Table]:
    """Load every input of the plan from `folder`; collect errors across all tables.
    keep: input name -> the line numbers to read of it (load_table), for the inputs cut."""
    bad_folder = inputs.folder_problem(folder)
    if bad_folder is not None:
        raise bad_folder
    tables, diags = {}, []
    for name, spec in plan.inputs.items():
        try:
            tables[name] = load_table(spec, inputs.resolve(spec, folder), plan.fiscal_start, max_rows,
                                      (keep or {}).get(name))
        except KamError as err:
            diags.extend(err.diagnostics)
    payees = tables.get(plan.payees_table)
    if not diags and payees is not None and not payees.rows:
        diags.append(Diagnostic("KR403", f"{payees.path} has no rows, but the plan pays the rows of "
                                f"`{plan.payees_table}` (`payees {plan.payees_table}`)",
                                Span(payees.path, 2, 1, 2, 2), "check the export: only a header was written"))
    if diags:
        raise KamError(diags)
    return tables
