"""The fast loader's speed paths give the verdicts of the ways they replace
(kamrules/data/fast.py): a file without quotes whose bytes add up to full lines is split with
no count of its commas and no search for a CR alone (`_split_counted`), and a key written in
rising order is found without repeats with no hash table (`_repeats`). Each shortcut is
checked on files that take it and files that must not (a CR alone, padding, quotes, a BOM,
blank, short and long lines, not UTF-8), against the strict loader and against a count made
here in Python."""
from __future__ import annotations

import csv
import re
from unittest import mock

import pytest

pl = pytest.importorskip("polars")

from hypothesis import HealthCheck, event, given, settings, strategies as st  # noqa: E402

import test_data_errors as errors  # noqa: E402
from test_columnar_load import assert_same, write  # noqa: E402
from kamrules.data import fast  # noqa: E402

H = errors.DEALS_HEADER  # 5 cells: deal_id,owner_id,amount,close_date,margin


def _rewritten(blob: bytes) -> bytes:
    """The file as _split hands it to _split_counted: a CR alone (or a last line ending in
    CR) is a line end for the csv module, and every line end is then rewritten as LF."""
    if b"\r" in blob and (not blob.endswith(b"\n") or re.search(rb"\r(?!\n)", blob)):
        return blob.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return blob


def _counted(blob: bytes) -> bool:
    """Whether the file's cells come from the counted split (as _split does it)."""
    spec = _spec()
    blob = _rewritten(blob)
    try:
        fast._split_counted(spec, blob, True)
    except fast.Uncounted:
        return False
    return True


def _spec():
    """The deals input of errors.PLAN (checked once)."""
    return _SPEC[0]


_SPEC = []


@pytest.fixture(autouse=True, scope="module")
def _plan_checked(tmp_path_factory):
    plan, _ = write(tmp_path_factory.mktemp("spec"), errors.GOOD_DEALS)
    _SPEC[:] = [plan.inputs["deals"]]


@pytest.mark.parametrize("deals, counted", [
    (errors.GOOD_DEALS, True),                                           # LF
    (errors.GOOD_DEALS.replace("\n", "\r\n"), True),                     # CRLF
    ("\ufeff" + errors.GOOD_DEALS.replace("\n", "\r\n"), True),          # BOM (dropped by _read) and CRLF
    (errors.GOOD_DEALS.rstrip("\n"), True),                              # no line end on the last line
    (errors.GOOD_DEALS.replace("\n", "\r"), True),                       # CR line ends: rewritten to LF first
    (H + "d1,kam-1, 12 , 2025-01-15 ,\n", True),                         # padded cells
    (H + "d1,kam-1,1,2025-01-15,\n,,,,\nd2,kam-1,2,2025-01-16,\n", True),  # a blank line of 5 cells
    (H + "d1,kam-1,1,2025-01-15,\n , ,\t,,\n", True),                    # a padded blank line of 5 cells
    (H + "d1,kam-1,1,2025-01-15,\n\nd2,kam-1,2,2025-01-16,\n", False),   # an empty line: 1 cell
    (H + "d1,kam-1,1,2025-01-15,\n,,\n", False),                         # a blank line of 3 cells
    (H + "d1,kam-1,1,2025-01-15,\n,,,,,,,\n", False),                    # a blank line of 8 cells
    (H + "d1,kam-1,1,2025-01-15\n", False),                              # a short line
    (H + "d1,kam-1,1,2025-01-15,,x\n", False),                           # a long line
    (H + "d1,kam\r-1,1,2025-01-15,\n", False),                           # a CR alone inside a line: 2 lines
    (H + "d1,kam-1\r,1,2025-01-15,\n", False),                           # a CR alone before a comma
    (H.replace("\n", "\r\n") + "d1,kam-1,1,2025-01-15,\r\r\n", False),   # a CR before a CRLF: a blank line
    (H + "d1,kam-1,1,2025-01-15,\r\nd2,kam-1,2,2025-01-16,\n", False),  # CRLF and LF mixed
    (H + "d1,kam-1,1,2025-01-15,\rd2,kam-1,2,2025-01-16,\n", True),     # CR and LF mixed: rewritten
    (H + "d1,kam-1,1,2025-01-15,\rd2,kam-1,2,2025-01-16,\r\n", True),  # CR and CRLF mixed: rewritten
])
def test_which_files_are_counted_and_their_verdicts(tmp_path, deals, counted):
    blob = deals.encode()
    plan, folder = write(tmp_path, blob, binary=True)
    want = assert_same(plan, folder)  # the strict loader's frames or diagnostics, whichever way
    assert want[0] == ("ok" if counted else want[0])
    assert _counted(fast._read(plan.inputs["deals"], str(folder / "deals.csv"))) == counted


def test_a_file_not_utf8_is_not_counted_and_is_the_strict_loaders(tmp_path):
    blob = (H + "d1,kam-\xe9,1,2025-01-15,\n").encode("latin-1")
    plan, folder = write(tmp_path, blob, binary=True)
    assert not _counted(blob)
    assert assert_same(plan, folder)[0] == "error"


def test_a_cell_over_the_csv_field_limit_is_a_doubt(tmp_path):
    blob = (H + "d1,kam-1,1,2025-01-15,\n").encode()
    with mock.patch.object(csv, "field_size_limit", lambda: 4):  # "2025-01-15": 10 bytes
        with pytest.raises(fast.Doubt):
            fast._split_counted(_spec(), blob, False)
        with pytest.raises(fast.Doubt):  # the former way, the same verdict
            fast._split_plain(_spec(), blob, False)


def _old_split(spec, blob, padded):
    """The former way for a file without quotes: a CR alone (or a last line ending in CR)
    rewritten, then _split_plain (commas counted, whole lines read for blank ones)."""
    if b"\r" in blob and (not blob.endswith(b"\n") or re.search(rb"\r(?!\n)", blob)):
        blob = fast._lf_only(blob)
    return fast._split_plain(spec, blob, padded)


PIECES = st.sampled_from(["a", "1", "2025-01-15", ",", "\r", " ", "\u00a0", "\xe9"])
# a line: 5 cells (a CR or a comma inside one, at times), or any pieces
LINES = st.one_of(st.lists(st.lists(PIECES, max_size=2).map("".join), min_size=5, max_size=5).map(",".join),
                  st.lists(PIECES, max_size=9).map("".join))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(LINES, min_size=0, max_size=5),
       ends=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=6, max_size=6),
       last=st.sampled_from(["", "\n", "\r\n"]))
def test_a_counted_file_has_full_lines_and_the_former_cells(lines, ends, last):
    spec = _spec()
    text = H.rstrip("\n") + "".join(end + line for end, line in zip(ends, lines)) + last
    blob = _rewritten(text.encode())
    try:
        raw, numbers, long = fast._split_counted(spec, blob, True)
    except fast.Uncounted:
        event("uncounted")
        return
    event("counted")
    # counted by hand: the lines as the csv module ends them, each with the header's 5 cells
    physical = re.split(r"\r\n|\r|\n", blob.decode())
    if blob.endswith(b"\n"):
        physical.pop()
    assert all(line.count(",") == 4 for line in physical), physical
    assert blob.count(b"\r") in (0, blob.count(b"\n"))  # (LF or CRLF line ends, not mixed)
    want_raw, want_numbers = _old_split(spec, blob, True)
    assert raw.equals(want_raw) and numbers.equals(want_numbers)
    assert long == fast._long_columns(raw)  # (every cell short here)


def test_the_long_columns_of_a_counted_file(tmp_path):
    blob = (H + "d1,kam-1,1,2025-01-15,\n" + "d2,kam-" + "é" * 3 + ",1,2025-01-15,\n").encode()
    with mock.patch.object(fast.limits, "MAX_CELL_CHARS", 8):
        raw, _, long = fast._split_counted(_spec(), blob, False)
        # owner_id: 13 bytes (10 characters), close_date: 10 bytes: both may hold a long cell
        # (deal_id: 7 bytes at most, the header's `deal_id` too); the same as counting the rows
        assert long == {"owner_id", "close_date"} == fast._long_columns(raw)


# ------------------------------------------------------------------ repeats of a key

VALUES = st.one_of(st.none(), st.integers(-3, 3))


@settings(max_examples=200, deadline=None)
@given(values=st.lists(VALUES, max_size=8), rising=st.booleans(), kind=st.sampled_from(["int", "str", "decimal"]))
def test_repeats_is_a_repeated_value_counted_by_hand(values, rising, kind):
    if rising:  # a rising column (nulls and repeats kept, when drawn): the shortcut's case
        values = sorted(v for v in values if v is not None) + [v for v in values if v is None]
    dtype = {"int": pl.Int64, "str": pl.String, "decimal": pl.Decimal(38, 24)}[kind]
    cast = {"int": lambda v: v, "str": lambda v: f"k{v + 5}", "decimal": lambda v: v}[kind]
    frame = pl.DataFrame({"k": pl.Series([None if v is None else cast(v) for v in values], dtype=dtype)})
    present = [v for v in values if v is not None]
    assert fast._repeats(frame, ["k"]) == (len(set(present)) != len(present))


def test_repeats_by_hand():
    frame = pl.DataFrame({"a": ["a", None, "a"], "b": ["x", "y", "z"], "c": [3, 2, 1], "d": ["p", "p", "q"]})
    assert fast._repeats(frame, ["a"])          # rising around a null: not the shortcut
    assert not fast._repeats(frame, ["b"])      # rising: no hash table
    assert not fast._repeats(frame, ["c"])      # falling: hashed
    assert fast._repeats(frame, ["b", "d"])     # one of two
    assert not fast._repeats(frame, [])
    assert not fast._repeats(frame.clear(), ["d"])


# ------------------------------------------------------------------ the cells' checks

@pytest.mark.parametrize("kind, currency", [("money", "EUR"), ("money", "JPY"), ("number", None), ("count", None)])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_a_number_of_its_pattern_is_ascii_so_its_bytes_are_its_characters(kind, currency, data):
    from kamrules.data import cells
    form = cells.form(kind, currency)
    assert not form.percent
    assert data.draw(st.from_regex(form.pattern, fullmatch=True)).isascii()


@given(raw=st.lists(st.sampled_from(["2025-01-31", "2025-02-30", " 2025-03-01", "x", "", "2025-01-31 "]), max_size=8),
       kind=st.sampled_from(["date", "period"]))
@settings(max_examples=100, deadline=None)
def test_mapped_is_a_lookup_by_hand(raw, kind):
    from kamrules.data import cells
    raw = [c.replace("-31", "") if kind == "period" else c for c in raw]
    trimmed = pl.Series("t", [c.strip() for c in raw], dtype=pl.String)
    values = fast._distinct_values(trimmed, kind, 1, None)
    got = fast._mapped(trimmed, values, fast.DTYPES[kind]).to_list()
    want = [values.get(c.strip()) for c in raw]  # a dict lookup a cell (None: not a valid cell)
    assert got == want
    assert all(c.strip() and cells.form(kind).accepts(c.strip()) for c, v in zip(raw, want) if v is not None)
