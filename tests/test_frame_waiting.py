"""Columns added to the columnar frame wait (backends/polars/columns.py, which the Frame is): columns
that read none of each other are computed in one pass of polars, side by side; a column
that reads a waiting one first has it computed; a waiting column found dead is never
computed. Worked out by hand on a frame of two payees x two months."""
from __future__ import annotations

from unittest import mock

import pytest

pl = pytest.importorskip("polars")

from kamrules.backends.polars.frame import Frame  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.run.session import Session  # noqa: E402

PLAN = """plan "waiting"
version "1"
currency EUR
period month
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
}
input deals {
  payee_id: Text
  amount: Money
  close_date: Date
}

component c = sum(amount for deals where payee_id == payee.id and close_date in period)
"""


@pytest.fixture
def frame(tmp_path):
    (tmp_path / "p.kam").write_text(PLAN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("payee_id\np1\np2\n")
    (data / "deals.csv").write_text("payee_id,amount,close_date\np1,1.00,2025-01-05\np2,2.00,2025-02-05\n")
    session = Session(str(tmp_path / "p.kam"), str(data))
    return Frame(load(tmp_path / "p.kam")[0], session.frames(), session.periods())


def _passes():
    """A mock counting the passes over the frame (LazyFrame.collect)."""
    return mock.patch.object(pl.LazyFrame, "collect", autospec=True, side_effect=pl.LazyFrame.collect)


def test_columns_that_read_none_of_each_other_are_one_pass(frame):
    with _passes() as passes:
        frame.add("a", pl.col("__f").cast(pl.Int64) * 2)
        frame.add("b", pl.col("__f").cast(pl.Int64) + 10, bm=pl.col("__f").cast(pl.Int64) - 1)
        assert passes.call_count == 0 and {"a", "b", "bm"} <= set(frame.columns)
        got = frame.df.select("a", "b", "bm").rows()
        assert passes.call_count == 1
    # frame rows __f 0..3 (p1 Jan, p1 Feb, p2 Jan, p2 Feb): a = 2f, b = f + 10, bm = f - 1
    assert got == [(0, 10, -1), (2, 11, 0), (4, 12, 1), (6, 13, 2)]


def test_a_column_reading_a_waiting_one_has_it_computed_first(frame):
    with _passes() as passes:
        frame.add("a", pl.col("__f").cast(pl.Int64) * 2)
        frame.add("b", pl.col("a") + 1)  # reads a: a is computed before b waits
        assert passes.call_count == 1
        frame.add("a", pl.col("b") * 10)  # a again (reads b): b computed, then a replaced
        assert passes.call_count == 2
        got = frame.df.select("a", "b").rows()
    # b = 2f + 1; then a = 10 b
    assert got == [(10, 1), (30, 3), (50, 5), (70, 7)]


def test_a_dead_waiting_column_is_never_computed(frame):
    frame.add("t.1", pl.col("__f").cast(pl.Int64) * 3)
    frame.add("t.2", pl.col("__f").cast(pl.Int64) + 100)
    frame.add("d.x", pl.col("t.1") + 1)  # reads t.1: t.1 (and t.2) computed first
    frame.add("t.3", pl.col("__f").cast(pl.Int64) * 1000)
    # all three dead: t.2 (computed, read by nothing waiting) is dropped at once; t.3 (waiting,
    # read by nothing) is never computed; t.1 goes once d.x, which reads it, is computed
    with _passes() as passes:
        frame.drop(["t.1", "t.2", "t.3"])
        assert "t.3" not in frame.columns and "t.2" not in frame.columns and "t.1" in frame.columns
        assert passes.call_count == 0
        assert not {"t.1", "t.2", "t.3"} & set(frame.df.columns)
        assert passes.call_count == 1  # d.x alone
    assert frame.df["d.x"].to_list() == [1, 4, 7, 10]  # 3f + 1


def test_a_dead_column_read_by_a_waiting_one_goes_after_that_pass(frame):
    frame.add("t.1", pl.col("__f").cast(pl.Int64) * 3)
    frame.df  # computed
    frame.add("d.y", pl.col("t.1") - 1)  # waits, reading t.1
    frame.drop(["t.1"])  # dead for what is still to come, but d.y reads it
    assert frame.df["d.y"].to_list() == [-1, 2, 5, 8]
    assert "t.1" not in frame.df.columns


def test_the_frame_is_not_replaced_under_waiting_columns(frame):
    frame.add("a", pl.col("__f").cast(pl.Int64) * 2)
    frame.df = frame.df.with_columns(pl.col("a").alias("c"))  # read first: a computed, then replaced
    assert frame.df["c"].to_list() == [0, 2, 4, 6]
