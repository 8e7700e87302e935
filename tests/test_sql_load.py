"""The SQL backend's streamed load (kamrules/data/pieces.py, kamrules/backends/sql/load.py):
a CSV input read in pieces gives the whole-file fast loader's frame, row for row and value
for value, or is handed back to it; and `--engine duckdb` on data split into many pieces
gives the columnar engine's bytes on valid data and its very diagnostics on invalid data
(a bad cell in a late piece, a key repeated across pieces, a missing reference, a header
only), through the whole-file loaders."""
from __future__ import annotations

import shutil

import pytest

pytest.importorskip("duckdb", reason="duckdb (extra `duckdb`) is not installed")
pytest.importorskip("sqlglot", reason="sqlglot (extra `duckdb`) is not installed")
pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from conftest import PLANS, examples, run_cli  # noqa: E402
from kamrules.cli.common import load as load_plan  # noqa: E402
from kamrules.backends.sql import load  # noqa: E402
from kamrules.data import fast, pieces  # noqa: E402

CAPPED = PLANS / "kam-capped.kam"
FOLDER = PLANS / "tests" / "kam-capped" / "acceptance-scenario-a"
PLAN = load_plan(CAPPED)[0]
DEALS = PLAN.inputs["deals"]  # key deal_id; amount Money EUR; close_date Date
HEADER = "deal_id,account_id,type,amount,close_date,status"

KEY = st.sampled_from(["dl-1", "dl-2", "dl-3", "dl-4", "dl-5", "dl-6", "dl-7", "dl-8", " dl-9 ", ""])
AMOUNT = st.sampled_from(["100", "2.50", " 7.1 ", "-3", "", "1.234", "x", "1e3", "99999999999999999999"])
DAY = st.sampled_from(["2025-06-30", "2025-01-01", " 2025-12-31", "2025-02-30", ""])
TEXT = st.sampled_from(["won", "lost", " acc-01 ", "a\tb", ""])
LINE = st.one_of(st.tuples(KEY, TEXT, TEXT, AMOUNT, DAY, TEXT).map(",".join),
                 st.sampled_from(["", " ", ",,,,,", "a,b", "a,b,c,d,e,f,g"]))


def _whole(path):
    try:
        return fast._fast_frame(PLAN, DEALS, str(path), None)
    except (fast.Doubt, fast.Beyond):
        return None


def _streamed(path, size):
    try:
        return pl.concat(list(pieces.pieces(PLAN, DEALS, str(path), size)))
    except pieces.Unstreamable:
        return None


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(LINE, max_size=12), st.sampled_from(["\n", "\r\n"]), st.booleans(), st.integers(1, 120))
def test_pieces_are_the_whole_file_frame(tmp_path_factory, lines, end, last_end, size):
    """Any piece size: the frame of the whole file (its line numbers, ids, values), or a
    hand-back where the whole-file fast loader doubts; a file it doubts is streamed only when
    its one fault is a key repeated (which no piece sees alone: load.py checks it in SQL)."""
    path = tmp_path_factory.mktemp("pieces") / "deals.csv"
    path.write_bytes((end.join([HEADER] + lines) + (end if last_end else "")).encode())
    whole, streamed = _whole(path), _streamed(path, size)
    if whole is None:
        assert streamed is None or streamed["deal_id"].n_unique() < streamed.height
    else:
        assert streamed is not None and streamed.equals(whole)


def _copy(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(FOLDER, folder)
    return folder


def _both(folder, *more, plan=CAPPED):
    """(rc, stdout, stderr) of the columnar engine and of duckdb with 64-byte pieces."""
    col = run_cli("run", plan, "--data", folder, "--engine", "columnar", *more)
    saved, pieces.PIECE_BYTES = pieces.PIECE_BYTES, 64
    try:
        duck = run_cli("run", plan, "--data", folder, "--engine", "duckdb", *more)
    finally:
        pieces.PIECE_BYTES = saved
    return (col.returncode, col.stdout, col.stderr), (duck.returncode, duck.stdout, duck.stderr)


def test_many_pieces_give_the_columnar_bytes(tmp_path, monkeypatch):
    def not_streamed(*args):
        raise AssertionError("the inputs were loaded as frames, not streamed")
    monkeypatch.setattr(load, "from_frames", not_streamed)
    folder = _copy(tmp_path)
    deals = folder / "deals.csv"  # CRLF line ends and blank lines, spread over the pieces
    text = deals.read_text().replace("\n", "\r\n\r\n")
    deals.write_text(text, newline="")
    assert len(text) > 12 * 64
    col, duck = _both(folder)
    assert col[0] == 0 and col == duck and col[1].count("EUR") >= 4


@pytest.mark.parametrize("fault, code", [("bad cell", "KR403"), ("key twice", "KR404"), ("header only", "KR403")])
def test_invalid_data_gets_the_columnar_diagnostics(tmp_path, fault, code):
    folder = _copy(tmp_path)
    deals = folder / "deals.csv"
    lines = deals.read_text().splitlines()
    if fault == "bad cell":  # the last line's amount: in the last piece
        cells = lines[-1].split(",")
        cells[5] = "12.345"
        lines[-1] = ",".join(cells)
    elif fault == "key twice":  # the first deal again at the end: two pieces apart
        lines.append(lines[1])
    else:
        (folder / "people.csv").write_text((folder / "people.csv").read_text().splitlines()[0] + "\n")
    deals.write_text("\n".join(lines) + "\n")
    col, duck = _both(folder, "-o", tmp_path / "out.csv")
    assert col[0] == 1 and code in col[2] and col == duck and not (tmp_path / "out.csv").exists()


def test_a_missing_reference_gets_the_columnar_diagnostic(tmp_path):
    """splits.deal_id references deals: a deal id no deal has, in the last piece."""
    folder = tmp_path / "data"
    shutil.copytree(PLANS / "tests" / "split-credit" / "example", folder)
    splits = folder / "splits.csv"
    splits.write_text(splits.read_text() + "s-99,ae-1,ae,0.10,false\n")
    col, duck = _both(folder, plan=PLANS / "split-credit.kam")
    assert col[0] == 1 and "KR409" in col[2] and "s-99" in col[2] and col == duck


def test_a_number_beyond_the_columns_goes_to_the_interpreter(tmp_path):
    """16 digits before the point: valid, but beyond the frames' Decimal(38, 24), so the
    run is the interpreter's on both engines (it was a traceback under --engine duckdb)."""
    folder = _copy(tmp_path)
    deals = folder / "deals.csv"
    lines = deals.read_text().splitlines()
    cells = lines[1].split(",")
    cells[5] = "1234567890123456"
    lines[1] = ",".join(cells)
    deals.write_text("\n".join(lines) + "\n")
    col, duck = _both(folder)
    assert col[0] == 0 and col == duck and "kam-01,2025,variable,20000.00,EUR" in col[1]
