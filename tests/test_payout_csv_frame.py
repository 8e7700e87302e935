"""The columnar payout CSV (run/columnar.py: totals from running sums, rows placed by integer
position, polars writing into the output file) against the report's own writer
(report.payouts.to_csv over Payout objects), on generated payout tables: payee-periods with
some components missing, awkward payee ids, amounts large enough to take the group-by path."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from kamrules.backends.polars.engine import payouts_list  # noqa: E402
from kamrules.backends.polars.values import DEC, period_key  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.core.calendar import Period  # noqa: E402
from kamrules.files.outputs import write_files  # noqa: E402
from kamrules.report.payouts import to_csv as report_csv  # noqa: E402
from kamrules.run.columnar import csv_writer, to_csv  # noqa: E402

PLAN = """plan "three"
version "1"
currency EUR
period month
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
  base: Money
}

component a = payee.base
component b = payee.base * 2
component c = payee.base * 3
"""

PERIODS = [Period(dt.date(2025, m, 1), "month", 1) for m in (1, 2, 3)]
IDS = st.sampled_from(["p1", "p2", "=cmd", "-x", "a,b", 'q"q', "@at", "+1", " sp", "\tt", "é"])
CENTS = st.one_of(st.integers(-10**6, 10**6), st.integers(-10**15, 10**15))


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "three.kam"
    path.write_text(PLAN)
    checked, diags, _ = load(path)
    assert checked is not None, diags
    return checked


@st.composite
def tables(draw):
    """A payout table as engine._payouts makes it: sorted by (__o, __c), payee-periods by
    payee then period, the components that exist in each."""
    payees = sorted(set(draw(st.lists(IDS, min_size=0, max_size=5))))
    rows = []
    o = 0
    for p in payees:
        for per in PERIODS:
            comps = draw(st.lists(st.integers(0, 2), max_size=3, unique=True))
            for c in sorted(comps):
                rows.append((p, period_key(per), o, c, Decimal(draw(CENTS)).scaleb(-2)))
            o += 1
    return pl.DataFrame(rows, schema={"payee_id": pl.String, "period": pl.String, "__o": pl.UInt32,
                                      "__c": pl.Int32, "amount": DEC}, orient="row")


@settings(max_examples=60, deadline=None)
@given(tables())
def test_the_frame_csv_is_the_report_csv(plan, table):
    # the report's writer: a total after each payee-period that has a component
    assert to_csv(plan, table, PERIODS) == report_csv(payouts_list(plan, table, PERIODS))


def test_the_file_written_by_polars_is_the_text(plan, tmp_path):
    table = pl.DataFrame({"payee_id": ["p1", "p1", "p2"], "period": [period_key(PERIODS[0])] * 3,
                          "__o": [0, 0, 1], "__c": [0, 2, 1],
                          "amount": [Decimal("1.005"), Decimal("2"), Decimal("-3.10")]},
                         schema={"payee_id": pl.String, "period": pl.String, "__o": pl.UInt32,
                                 "__c": pl.Int32, "amount": DEC})
    path = tmp_path / "out.csv"
    write_files([(str(path), csv_writer(plan, table, PERIODS))])
    # 1.005 -> 1.01 (half up), total 3.005 -> 3.01; p2: b -3.10, total -3.10
    assert path.read_text() == ("payee_id,period,component,amount,currency\n"
                                "p1,2025-01,a,1.01,EUR\np1,2025-01,c,2.00,EUR\np1,2025-01,total,3.01,EUR\n"
                                "p2,2025-01,b,-3.10,EUR\np2,2025-01,total,-3.10,EUR\n")
    assert path.read_text() == to_csv(plan, table, PERIODS)


def test_a_write_error_keeps_its_number(plan):
    """polars words an OSError of the file it writes without its errno; the writer gives the
    number back, so files.outputs words it (KR701 with the full-disk hint)."""
    import errno
    import io

    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):  # the header goes through, polars' rows do not
            if b"payee_id,period" in bytes(data):
                return len(data)
            raise OSError(errno.ENOSPC, "No space left on device")

    table = pl.DataFrame({"payee_id": ["p"] * 5000, "period": [period_key(PERIODS[0])] * 5000,
                          "__o": list(range(5000)), "__c": [0] * 5000, "amount": [Decimal(1)] * 5000},
                         schema={"payee_id": pl.String, "period": pl.String, "__o": pl.UInt32,
                                 "__c": pl.Int32, "amount": DEC})
    with pytest.raises(OSError) as caught:
        csv_writer(plan, table, PERIODS)(io.BufferedWriter(Full(), buffer_size=4096))
    assert caught.value.errno == errno.ENOSPC
