"""The fast loader's shortcuts of `explain` at 100k payees (kamrules/data/fast.py) give the
strict loader's verdicts: dates, periods and bools checked once per distinct cell (and per
row past DISTINCT_MAX), no trimming of a file without a padding byte (`unpadded`), and the
lean frames of `explain` (numbers validated, not converted). On generated files (dates that
exist or not, numbers with 17 and more decimals, empty and padded cells, blank and ragged
lines, a byte-order mark, CRLF or LF, quoted or not) each way of loading raises the strict loader's diagnostics (the
same code, file, row, column, message) or gives its frames; and `explain` words a bad cell
on a row its payee never reads as `run` does."""
from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from unittest import mock

import pytest

pl = pytest.importorskip("polars")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from conftest import EXAMPLES, PLANS  # noqa: E402
from kamrules import load_plan  # noqa: E402
from kamrules.data import cells, fast  # noqa: E402
from test_columnar_load import strict_outcome  # noqa: E402

PLAN = """plan "Lean"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
  joined: Date
  left: optional Date
  rate: Rate
  bonus: Money
  score: optional Number
  active: optional Bool
  quarter: optional Period
}

component pay = payee.bonus * payee.rate
"""
COLUMNS = ["payee_id", "joined", "left", "rate", "bonus", "score", "active", "quarter"]
PAD = st.sampled_from(["", "", "", " ", "\t", "\u00a0", "\u3000"])


def _decimals(places: int):
    return st.decimals(allow_nan=False, allow_infinity=False, places=places, min_value=-10**6,
                       max_value=10**6).map(lambda d: format(d, "f"))  # never an exponent


def _zeros(strategy):
    """A valid number with trailing zeros up to 22 decimals (1.10000000000000000000 is 1.1)."""
    return st.tuples(strategy, st.integers(0, 20)).map(lambda t: t[0] + ("" if "." in t[0] else ".") + "0" * t[1])


VALID = {
    "joined": st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)).map(str),
    "left": st.one_of(st.just(""), st.dates(dt.date(1, 1, 1), dt.date(9998, 12, 31)).map(str)),
    "rate": st.one_of(_zeros(_decimals(12)), st.sampled_from(["10%", "12.5 %", "0.0000000001%", ".5"])),
    "bonus": st.one_of(_zeros(_decimals(2)), st.sampled_from(["-0", "5.", "+3", "99999999999999"])),
    "score": st.one_of(st.just(""), _zeros(_decimals(12)), st.just("1.000000000001")),
    "active": st.sampled_from(["", "yes", "N", "TRUE", "0", "y"]),
    "quarter": st.sampled_from(["", "2025-Q1", "2025-03", "2025", "9998-Q4"]),
}
# refused cells: 13 to 22 decimals, dates the calendar lacks, exponents, separators, out of range
BAD = st.one_of(st.integers(0, 20).map(lambda n: "1." + "0" * n + "01"),
                st.sampled_from(["1.00000000000000001", "0.3333333333333333333", "1.005", "9" * 19, "1e3", "1,5",
                                 "2025-02-29", "0000-01-01", "9999-01-01", "2025-1-5", "2025/01/05", "2025-Q5",
                                 "maybe", "", " ", "\u0661", "x"]))


@st.composite
def people_files(draw):
    lines = [",".join(COLUMNS)]
    quoted = draw(st.booleans())
    bad_odds = draw(st.sampled_from([0, 0, 8, 30]))
    for row in range(draw(st.integers(0, 6))):
        row_cells = [f"kam-{row}"]
        for c in COLUMNS[1:]:
            cell = draw(BAD) if bad_odds and draw(st.integers(0, bad_odds)) == 0 else draw(VALID[c])
            row_cells.append(draw(PAD) + cell + draw(PAD))
        if quoted:
            row_cells = ['"' + c + '"' for c in row_cells]
        if draw(st.integers(0, 5)) == 0:  # a blank line (skipped), or a short or long one (refused)
            lines.append(draw(st.sampled_from(["", "", ",,,,,,,", ",,", " ,\t,,,,,,", ",,,,,,,,,x", "x"])))
        lines.append(",".join(row_cells))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))
    return (draw(st.sampled_from(["", "\ufeff"])) + text).encode("utf-8")


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("lean") / "plan.kam"
    path.write_text(PLAN)
    return load_plan(str(path))


def _outcome(plan, folder, **kwargs):
    from kamrules.diagnostics.diagnostic import KamError
    try:
        return "ok", fast.load_frames(plan, str(folder), **kwargs)
    except KamError as err:
        return "error", err.diagnostics


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(people=people_files())
def test_every_way_of_loading_gives_the_strict_outcome(tmp_path_factory, plan, people):
    folder = tmp_path_factory.mktemp("gen")
    (folder / "people.csv").write_bytes(people)
    try:
        want = strict_outcome(plan, folder)
    except fast.Fallback:  # a number beyond the columns: the run is the interpreter's
        return
    ways = {"distinct": {}, "lean": {"lean": True}}
    got = {name: _outcome(plan, folder, **kw) for name, kw in ways.items()}
    with mock.patch.object(fast, "DISTINCT_MAX", 0):  # every date, bool per row (its regex, its parse)
        got["per row"] = _outcome(plan, folder)
    with mock.patch.object(fast, "unpadded", lambda blob: False):  # every cell trimmed
        got["trimmed"] = _outcome(plan, folder)
    unread = fast.unread_numbers(plan, "people")
    assert unread == {"rate", "bonus", "score"}
    for name, (status, value) in got.items():
        assert status == want[0], (name, want, value)
        if status == "error":
            assert value == want[1], name  # code, file, row, column, message, hint
            continue
        frame, expected = value["people"], want[1]["people"]
        if name == "lean":
            expected = expected.drop(sorted(unread))
        assert frame.schema == expected.schema, name
        assert frame.equals(expected), (name, frame, expected)


@given(cells_=st.lists(st.text(alphabet="ab,\"\r\n \t\u00a0\u2009\u3000\x1ce\u00e9", max_size=4), max_size=6))
def test_a_file_found_unpadded_has_no_cell_with_padding(cells_):
    blob = ("h\n" + "\n".join(cells_)).encode("utf-8")
    if not fast.unpadded(blob):
        return
    # no quote: every line is split at its commas (and polars drops the CR of a CRLF)
    for record in csv.reader(io.StringIO(blob.decode("utf-8").replace("\r\n", "\n"), newline="")):
        for cell in record:
            assert cell == cells.trim(cell), repr(cell)


def test_unpadded_by_hand():
    assert fast.unpadded(b"a,b\r\nx,2025-01-01\r\n")
    assert fast.unpadded("a,b\nx,\u00e9t\u00e9\n".encode())  # C3: not the first byte of a padding
    for pad in (" ", "\t", "\x0b", "\x0c", "\x1f", "\u0085", "\u00a0", "\u1680", "\u2000", "\u205f", "\u3000"):
        assert not fast.unpadded(f"a,b\nx,{pad}y\n".encode()), repr(pad)
    assert not fast.unpadded(b'a,b\n"x",y\n')  # a quoted cell may hold a line break


def test_explain_words_a_bad_cell_of_another_payee_as_run_does(tmp_path, cli):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES / "01-abtasty-nrr-upsell", data)
    deals = (data / "deals.csv").read_text().splitlines()
    header = deals[0].split(",")
    amount, owner = header.index("amount"), header.index("owner_id")
    # the last deal not owned by kam-001: 17 decimals in its amount, a cell explain never converts
    line = max(i for i, d in enumerate(deals) if i and d.split(",")[owner] != "kam-001")
    row = deals[line].split(",")
    row[amount] = "1.00000000000000001"
    deals[line] = ",".join(row)
    (data / "deals.csv").write_text("\n".join(deals) + "\n")
    plan = PLANS / "abtasty-kam.kam"
    run = cli("run", plan, "--data", data, "-q", "-o", tmp_path / "out.csv")
    explain = cli("explain", plan, "--data", data, "--payee", "kam-001")
    assert run.returncode == explain.returncode == 1
    assert f"deals.csv:{line + 1}:{amount + 1}" in run.stderr  # the file's line, the cell's column
    assert explain.stderr == run.stderr
    assert not (tmp_path / "out.csv").exists()


def test_a_session_that_traces_then_runs_loads_whole_frames():
    from kamrules.run.session import Session
    plan, data = str(PLANS / "abtasty-kam.kam"), str(EXAMPLES / "01-abtasty-nrr-upsell")
    session = Session(plan, data)
    traced = session.trace({"kam-001"})
    lean = session._lean
    assert traced and lean is not None and "amount" not in lean["deals"].columns  # read from kept rows only
    assert session._frames is None
    after = session.execute()  # the columnar run: whole frames, loaded now
    assert "amount" in session.frames()["deals"].columns
    fresh = Session(plan, data).execute()
    assert after.engine == fresh.engine and after.table.equals(fresh.table)
    # the trace's amounts are the run's (the lean frames changed nothing the interpreter reads)
    amounts = {(p.period, p.component): p.amount for p in traced}
    mine = fresh.table.filter(pl.col("payee_id") == "kam-001")
    assert len(amounts) == mine.height and sum(amounts.values()) == sum(mine["amount"].to_list())
