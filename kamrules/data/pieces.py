"""A large CSV input read in pieces: the fast loader's checks (kamrules.data.fast) on runs of
consecutive lines, each piece a typed frame of a bounded size, for a backend that keeps the
rows elsewhere (the SQL backend's out-of-core load, kamrules/backends/sql/load.py).

Each piece is the header line followed by whole lines of the file, split and checked exactly
as load_frames splits and checks a whole plain file (fast._raw_cells, fast._typed: the same
cell grammar, the same values), its line numbers shifted to the file's. Only what a piece
can vouch for on its own is streamed: a file with a quote, a CR outside a CRLF, a NUL, a
second byte-order mark, a declared dialect, JSON or Parquet, or a piece fast.py doubts (a bad
cell, a duplicate inside the piece, a number beyond the columns) raises Unstreamable, and the
caller loads the whole data the usual way (load_frames), which words every error as before
or hands the run over. What spans pieces (a key repeated in two pieces, references between
tables, an empty payee table) is for the caller to check on the stored rows.
"""
from __future__ import annotations

from typing import Iterator

import polars as pl

from kamrules.check.plan import CheckedPlan, InputTable
from kamrules.core import limits
from kamrules.data import fast
from kamrules.data.parquet import is_parquet
from kamrules.diagnostics.diagnostic import KamError
from kamrules.files import inputs

PIECE_BYTES = 32 << 20  # about 500,000 lines of case 01's deals: ~200 MB while a piece is checked
# Rows of one input the SQL backend takes when streamed (its rows are DuckDB's, on disk past
# --memory-limit); the whole-file loaders stop at limits.MAX_ROWS.
MAX_STREAMED_ROWS = 2_000_000_000


class Unstreamable(Exception):
    """This input, or a piece of it, needs the whole-file loaders."""


def streamable(spec: InputTable, folder: str) -> str:
    """The input's path when it is a plain CSV file this module may stream, else Unstreamable."""
    try:
        path = fast.input_path(spec, folder)
    except KamError:
        raise Unstreamable("outside the folder or missing") from None
    if spec.dialect is not None or path.lower().endswith(".json") or is_parquet(path):
        raise Unstreamable("not a plain CSV file")
    return path


def pieces(plan: CheckedPlan, spec: InputTable, path: str, piece_bytes: int | None = None,
           max_rows: int = MAX_STREAMED_ROWS) -> Iterator[pl.DataFrame]:
    """The input's typed frames (fast.load_frames' columns, `__row` the file's line numbers),
    piece by piece, at least one (empty when the file has only its header)."""
    size = piece_bytes or PIECE_BYTES
    try:
        fh = inputs.open_input(spec, path, binary=True)
    except KamError:
        raise Unstreamable("unreadable") from None
    with fh:
        head = fh.readline()
        if head.startswith(fast._BOM):
            head = head[len(fast._BOM):]
        if head.startswith(fast._BOM) or not head.strip():
            raise Unstreamable("a second byte-order mark, or no header")
        if not head.endswith(b"\n"):
            head += b"\n"
        first, rows, carry, done = 2, 0, b"", False  # first: the file's line of the piece's first line
        while not done:
            block = fh.read(size)
            done = not block
            data = carry + block
            cut = len(data) if done else data.rfind(b"\n") + 1
            if cut == 0 and not done:  # one line longer than a piece: read on
                carry = data
                continue
            piece, carry = data[:cut], data[cut:]
            if not piece and (rows or not done):
                continue
            frame = _piece(plan, spec, head, piece, first)
            rows += frame.height
            if rows > max_rows:
                raise Unstreamable("rows")
            first += piece.count(b"\n")
            yield frame


def _piece(plan: CheckedPlan, spec: InputTable, head: bytes, piece: bytes, first: int) -> pl.DataFrame:
    blob = head + piece
    if b'"' in blob or b"\x00" in blob or blob.count(b"\r") != blob.count(b"\r\n"):
        raise Unstreamable("quotes, NUL or a CR alone")
    try:
        raw, lines = fast._raw_cells(spec, blob)
        typed = fast._typed(plan, spec, raw, lines + (first - 2), not any(c in blob for c in fast.RUST_LACKS))
    except (fast.Doubt, fast.Beyond):
        raise Unstreamable("a cell the whole-file loaders decide on") from None
    return typed
