"""Spreadsheet dialects: a CSV file written the way its input declares (`with delimiter ";"
decimal "," date "DD/MM/YYYY" thousands " " encoding "cp1252"`) read as canonical CSV text
(comma-separated UTF-8, numbers `1234.56`, dates `YYYY-MM-DD`), before the loaders' normal
validation, so that every check of the CSV contract still applies to the cells.

Nothing is guessed: a number cell must be written with the declared marks (a `.` in a
`decimal ","` file is an error, not a thousands separator, unless `thousands "."` says so),
thousands separators must group three digits, a date cell must match the pattern and exist.
A cell that does not fit is KR428 naming the file, the row and the column; a file that is not
text in the declared encoding is KR429. Only the declared columns of kind money, number,
rate, count and date are rewritten; other cells pass as they are (re-quoted as CSV needs).

The canonical text keeps each record on the line it ends on in the file (blank lines are
padded), so `row N` in every later message is the file's line N.

`thousands " "` stands for every space a spreadsheet puts there: U+0020, U+00A0, U+202F.

Hooks: kamrules.data.strict (`open_text`) and the fast loader (`canonical_bytes`).
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re

from kamrules.check.plan import Dialect, InputTable
from kamrules.check.sources import date_tokens, describe
from kamrules.core import limits
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.diagnostics.source import Span
from kamrules.files import inputs

NUMERIC = ("money", "number", "rate", "count")
_SPACES = " \u00a0\u202f"
_PART = {"YYYY": "(?P<y>[0-9]{4})", "MM": "(?P<m>[0-9]{2})", "M": "(?P<m>[0-9]{1,2})",
         "DD": "(?P<d>[0-9]{2})", "D": "(?P<d>[0-9]{1,2})"}


class Misfit(ValueError):
    """A cell that does not fit the declared dialect (KR428); the message quotes it."""


class Reader:
    """Cell normalisers for one dialect."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        tokens = date_tokens(dialect.date)
        self.date_re = re.compile("".join(_PART.get(t, re.escape(t)) for t in tokens))
        sep = dialect.thousands
        seps = _SPACES if sep in _SPACES and sep else re.escape(sep)
        group = rf"[0-9]{{1,3}}(?:[{seps}][0-9]{{3}})+" if sep else None
        whole = rf"(?:{group}|[0-9]+)" if group else "[0-9]+"
        mark = re.escape(dialect.decimal)
        self.number_re = re.compile(rf"([+-]?)({whole})?(?:{mark}([0-9]+))?")
        self.seps = seps if sep else ""

    def number(self, s: str, pct_ok: bool) -> str:
        """`s` (stripped, not empty) as a canonical number, or Misfit."""
        pct = pct_ok and s.endswith("%")
        body = s[:-1].rstrip() if pct else s
        m = self.number_re.fullmatch(body)
        if m is None or not (m.group(2) or m.group(3)):
            raise Misfit(self._number_reason(body))
        whole = re.sub(f"[{self.seps}]", "", m.group(2) or "") if self.seps else (m.group(2) or "")
        out = m.group(1) + (whole or "0") + ("." + m.group(3) if m.group(3) else "")
        return out + ("%" if pct else "")

    def _number_reason(self, body: str) -> str:
        d = self.dialect
        other = "." if d.decimal == "," else ","
        if other in body and other != d.thousands:
            return (f"has a `{other}`, but the input declares decimal \"{d.decimal}\""
                    + (f" and thousands \"{d.thousands}\"" if d.thousands else " and no thousands separator"))
        if d.thousands and re.search(f"[{self.seps}]", body):
            return f"has a thousands separator \"{d.thousands}\" that does not group three digits"
        return f"is not a number written as {self.example()}"

    def example(self) -> str:
        d = self.dialect
        sep = {"\u00a0": " ", "\u202f": " "}.get(d.thousands, d.thousands)
        return f"1{sep}234{d.decimal}56"

    def date(self, s: str) -> str:
        m = self.date_re.fullmatch(s)
        if m is None:
            raise Misfit(f"is not a date written {self.dialect.date}")
        y, mo, d = int(m.group("y")), int(m.group("m")), int(m.group("d"))
        try:
            dt.date(y, mo, d)
        except ValueError as err:
            raise Misfit(f"is not a date that exists ({err})") from None
        return f"{y:04d}-{mo:02d}-{d:02d}"

    def cell(self, raw: str, kind: str) -> str:
        s = raw.strip()
        if not s:
            return raw
        if kind in NUMERIC:
            return self.number(s, kind == "rate")
        if kind == "date":
            return self.date(s)
        return raw


def canonical_text(spec: InputTable, path: str, blob: bytes) -> str:
    """The file's bytes, read in the input's dialect, as canonical CSV text (KamError KR428,
    KR429 or KR403 when it cannot be)."""
    dialect = spec.dialect
    base = os.path.basename(path)
    try:
        text = blob.decode(dialect.encoding)
    except UnicodeDecodeError as err:
        line = blob.count(b"\n", 0, err.start) + 1
        raise KamError([Diagnostic("KR429", f"{base} row {line} is not {dialect.encoding} text (byte "
                                   f"0x{blob[err.start]:02X})", Span(path, line, 1, line, 2),
                                   f"the input declares encoding \"{dialect.encoding}\": export the file "
                                   "in that encoding, or declare the one it is in")]) from None
    if text.startswith("\ufeff") and dialect.encoding.lower().replace("_", "-").startswith("utf"):
        text = text[1:]
    reader = Reader(dialect)
    out = io.StringIO()
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter, strict=True)
    kinds = None  # position -> (column, kind) of the cells to rewrite, from the header
    lines, diags = 0, []
    try:
        for record in rows:
            if kinds is None:
                kinds = {i: (h.strip(), spec.columns[h.strip()].type.kind) for i, h in enumerate(record)
                         if h.strip() in spec.columns}
            elif not record:
                continue
            else:
                record = list(record)
                for i, (name, kind) in kinds.items():
                    if i < len(record) and kind in NUMERIC + ("date",):
                        try:
                            record[i] = reader.cell(record[i], kind)
                        except Misfit as why:
                            diags.append(_misfit(spec, path, rows.line_num, i, name, record[i], why))
                if len(diags) >= limits.MAX_DIAGNOSTICS:
                    break
            chunk = io.StringIO()
            csv.writer(chunk, lineterminator="\n").writerow(record)
            body = chunk.getvalue()
            pad = rows.line_num - lines - body.count("\n")
            out.write("\n" * max(pad, 0))
            out.write(body)
            lines += max(pad, 0) + body.count("\n")
    except csv.Error as err:
        raise KamError([Diagnostic("KR403", f"{path} is not valid CSV with delimiter "
                                   f"\"{'tab' if dialect.delimiter == chr(9) else dialect.delimiter}\": {err}",
                                   Span(path, rows.line_num, 1, rows.line_num, 2),
                                   "check quotes: a cell with the delimiter or a quote must be quoted")]) from None
    if diags:
        raise KamError(diags)
    return out.getvalue()


def _misfit(spec, path, line, i, name, raw, why) -> Diagnostic:
    col = spec.columns[name]
    return Diagnostic("KR428", f"{os.path.basename(path)} row {line}, column `{name}`: ({col.type}) "
                      f"`{raw}` {why}", Span(path, line, i + 1, line, i + 2),
                      f"the input declares {describe(spec.dialect)}: fix the cell, or the declared dialect")


def _read(spec: InputTable, path: str) -> bytes:
    with inputs.open_input(spec, path, binary=True) as fh:
        return fh.read()


def canonical_bytes(spec: InputTable, path: str) -> bytes:
    """The fast loader's hook: the canonical CSV of a dialect file, as UTF-8 bytes."""
    return canonical_text(spec, path, _read(spec, path)).encode("utf-8")


def open_text(spec: InputTable, path: str):
    """The strict loader's hook: the input opened as text, through its dialect if it has one."""
    if spec.dialect is None:
        return inputs.open_input(spec, path)
    return contextlib.closing(io.StringIO(canonical_text(spec, path, _read(spec, path)), newline=""))
