"""Input tables: reads the CSV files a plan declares and validates them against its schema.

Every value is parsed to its declared type (Money and ratios as Decimal, never float);
each problem is a Diagnostic pointing at file:row:column. Rows keep their line number and id
so traces can cite them.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import re
from decimal import Decimal

import attrs

from .calendar import parse_period
from .diagnostics import Diagnostic, KamError, did_you_mean
from .ir import CheckedPlan, InputTable
from .money import Money
from .source import Span

_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}
MAX_FIELD = 10_000  # characters in one cell


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


def parse_value(text: str, kind: str, currency: str | None, fiscal_start: int = 1):
    """Parse one CSV cell to the runtime value of `kind`; raise ValueError with a reason."""
    s = text.strip()
    if kind in ("money", "number", "rate", "count"):
        pct = kind == "rate" and s.endswith("%")
        body = s[:-1].strip() if pct else s
        if not _DECIMAL.match(body):
            raise ValueError(f"`{text}` is not a decimal number (write 1234.56: a dot, no "
                             "thousands separator, no exponent)")
        value = Decimal(body)
        if pct:
            value = value.scaleb(-2)
        if kind == "count" and value != value.to_integral_value():
            raise ValueError(f"`{text}` is not a whole number")
        return Money(value, currency) if kind == "money" else value
    if kind == "date":
        try:
            return dt.date.fromisoformat(s) if len(s) == 10 else _bad_date(text)
        except ValueError:
            return _bad_date(text)
    if kind == "period":
        return parse_period(s, fiscal_start)
    if kind == "bool":
        low = s.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"`{text}` is not true or false")
    return text


def _bad_date(text):
    raise ValueError(f"`{text}` is not a date (expected YYYY-MM-DD, e.g. 2025-04-01)")


def load_table(spec: InputTable, path: str, fiscal_start: int = 1, max_rows: int | None = None) -> Table:
    diags: list[Diagnostic] = []
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError:
        folder = os.path.dirname(path) or "."
        present = sorted(f for f in os.listdir(folder) if f.endswith(".csv")) if os.path.isdir(folder) else []
        hint = did_you_mean(os.path.basename(path), present)
        if hint is None:
            hint = f"files there: {', '.join(present)}" if present else "check --data points at the folder of CSV exports"
        raise KamError([Diagnostic("KR401", f"input `{spec.name}` needs {path}, which does not exist",
                                   spec.span, hint)]) from None
    with fh:
        reader = csv.reader(fh, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise KamError([Diagnostic("KR402", f"{path} is empty: expected a header row",
                                           Span(path, 1, 1, 1, 2),
                                           "the first line names the columns: " + ",".join(spec.columns))])
            header = [h.strip() for h in header]
            positions = {}
            for name in spec.columns:
                if name in header:
                    positions[name] = header.index(name)
                else:
                    hint = did_you_mean(name, header) or f"columns in the file: {', '.join(header)}"
                    diags.append(Diagnostic("KR402", f"{path} has no column `{name}` (declared in input "
                                            f"`{spec.name}`)", Span(path, 1, 1, 1, 2), hint))
            dupes = {h for h in header if header.count(h) > 1 and h in spec.columns}
            for h in sorted(dupes):
                diags.append(Diagnostic("KR402", f"{path} has the column `{h}` twice", Span(path, 1, 1, 1, 2)))
            if diags:
                raise KamError(diags)
            rows = []
            id_col = spec.key or next(iter(spec.columns))
            seen_unique: dict = {c: {} for c, s in spec.columns.items() if s.unique or c == spec.key}
            for record in reader:
                line = reader.line_num
                if not record or all(not cell.strip() for cell in record):
                    continue
                if max_rows is not None and len(rows) >= max_rows:
                    raise KamError([Diagnostic("KR408", f"{path} has more than {max_rows} rows",
                                               Span(path, line, 1, line, 2),
                                               "raise the limit with --max-rows if this is expected")])
                if len(record) != len(header):
                    diags.append(Diagnostic("KR403", f"row has {len(record)} cells but the header has "
                                            f"{len(header)}", Span(path, line, 1, line, 2),
                                            "quote cells that contain commas"))
                    continue
                values = {}
                for name, col in spec.columns.items():
                    pos = positions[name]
                    cell = record[pos]
                    span = Span(path, line, pos + 1, line, pos + 2)
                    if len(cell) > MAX_FIELD:
                        diags.append(Diagnostic("KR408", f"cell `{name}` is longer than {MAX_FIELD} characters", span))
                        continue
                    if not cell.strip():
                        if not col.optional:
                            diags.append(Diagnostic(
                                "KR403", f"empty `{name}` in {spec.name} (row {line}) but the column is required",
                                span, f"declare it `{name}: optional {col.type}` if it may be empty, or fill it"))
                        values[name] = None
                        continue
                    try:
                        values[name] = parse_value(cell, col.type.kind, col.type.currency, fiscal_start)
                    except ValueError as err:
                        diags.append(Diagnostic("KR403", f"column `{name}` ({col.type}): {err}", span,
                                                f"row {line} of {os.path.basename(path)}"))
                        values[name] = None
                for ucol, seen in seen_unique.items():
                    v = values.get(ucol)
                    if v is None:
                        continue
                    if v in seen:
                        diags.append(Diagnostic("KR404", f"`{ucol}` = {record[positions[ucol]]!r} appears twice "
                                                f"(rows {seen[v]} and {line})", Span(path, line, positions[ucol] + 1,
                                                                                    line, positions[ucol] + 2),
                                                f"`{ucol}` is declared unique"))
                    else:
                        seen[v] = line
                ident = values.get(id_col)
                rows.append(Row(spec.name, line, str(ident) if ident is not None else f"row {line}", values))
                if len(diags) >= 50:
                    break
        except csv.Error as err:
            raise KamError([Diagnostic("KR403", f"{path} is not valid CSV: {err}",
                                       Span(path, reader.line_num, 1, reader.line_num, 2),
                                       "check quotes: a cell with a comma or quote must be quoted")]) from None
        except UnicodeDecodeError:
            raise KamError([Diagnostic("KR403", f"{path} is not UTF-8 text", Span(path, 1, 1, 1, 2),
                                       "export the CSV as UTF-8")]) from None
    if diags:
        raise KamError(diags)
    return Table(spec, path, rows)


def load_data(plan: CheckedPlan, folder: str, max_rows: int | None = None) -> dict[str, Table]:
    """Load every input of the plan from `folder`; collect errors across all tables."""
    if not os.path.isdir(folder):
        raise KamError([Diagnostic("KR401", f"data folder {folder} does not exist",
                                   hint="--data takes the folder that holds the CSV exports")])
    tables, diags = {}, []
    for name, spec in plan.inputs.items():
        path = spec.file if os.path.isabs(spec.file) else os.path.join(folder, spec.file)
        try:
            tables[name] = load_table(spec, path, plan.fiscal_start, max_rows)
        except KamError as err:
            diags.extend(err.diagnostics)
    if diags:
        raise KamError(diags)
    return tables
