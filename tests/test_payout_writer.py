"""The columnar payout CSV writer (run/columnar.py: cells quoted by kamrules and written by
polars with quote_style="never", payee-periods with every component laid out by arithmetic)
against the report's own writer (report.payouts.to_csv) over Payout objects built here from
the same rows: ids that need quoting or escaping (commas, quotes, CR, LF, =+-@ starts),
negative amounts, amounts between cents with half-cent ties, amounts large enough for the
group-by path, a pay currency per payee, and many slices (a small `rows`)."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from kamrules.backends.polars.values import DEC, period_key  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.files.outputs import write_files  # noqa: E402
from kamrules.report.payouts import COLUMNS, to_csv as report_csv  # noqa: E402
from kamrules.run import columnar  # noqa: E402
from kamrules.trace.tree import Payout  # noqa: E402

from test_payout_csv_frame import PERIODS, PLAN  # noqa: E402  (components a, b, c; 2025-01..03)

IDS = st.sampled_from(["p1", "p2", "=cmd", "-x", "-12", "+1", "@at", "\tt", "\rr", "a\rb", "a\nb",
                       "a,b", 'q"q', '"', " sp", "é", "kam-000001", "a-very-long-payee-identifier"])
CURRENCIES = st.sampled_from(["EUR", "USD", "C,D"])
# whole cents (the usual case), then amounts between cents (half-cent ties among them), then
# amounts whose running sum may leave Decimal(38, 24) (the group-by path)
AMOUNTS = st.one_of(st.integers(-10**6, 10**6).map(lambda c: Decimal(c).scaleb(-2)),
                    st.integers(-10**6, 10**6).map(lambda m: Decimal(m).scaleb(-3)),
                    st.integers(-10**15, 10**15).map(lambda c: Decimal(c).scaleb(-2)))


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "three.kam"
    path.write_text(PLAN)
    return load(path)[0]


@st.composite
def tables(draw):
    """(table as engine._payouts makes it: sorted by (__o, __c), payee-periods by payee then
    period; the same payouts as Payout objects, the report's input)."""
    payees = sorted(set(draw(st.lists(IDS, max_size=5))))
    full = draw(st.booleans())  # every payee-period has every component (the arithmetic layout)
    paid_in = {p: draw(CURRENCIES) for p in payees} if draw(st.booleans()) else None
    rows, payouts, o = [], [], 0
    for p in payees:
        for per in PERIODS:
            comps = [0, 1, 2] if full else sorted(draw(st.lists(st.integers(0, 2), max_size=3, unique=True)))
            for c in comps:
                amount = draw(AMOUNTS)
                code = paid_in[p] if paid_in else "EUR"
                rows.append((p, period_key(per), o, c, amount, code))
                payouts.append(Payout(p, per, "abc"[c], amount, code))
            o += 1
    table = pl.DataFrame(rows, orient="row", schema={"payee_id": pl.String, "period": pl.String, "__o": pl.UInt32,
                                                     "__c": pl.Int32, "amount": DEC, "currency": pl.String})
    return (table if paid_in else table.drop("currency")), payouts


def _written(parts) -> str:
    buf = io.StringIO()
    buf.write(",".join(COLUMNS) + "\n")
    for part in parts:
        part.write_csv(buf, include_header=False, quote_style="never", line_terminator="\n")
    return buf.getvalue()


@settings(max_examples=80, deadline=None)
@given(drawn=tables(), rows=st.integers(1, 8))
def test_the_slices_are_the_report_csv(plan, drawn, rows):
    table, payouts = drawn
    # the report: exact sums, each amount and total to the cent half up, ids escaped and quoted
    assert _written(columnar._csv_parts(plan, table, PERIODS, rows=rows)) == report_csv(payouts)


@settings(max_examples=30, deadline=None)
@given(drawn=tables())
def test_the_file_and_the_text_are_the_report_csv(plan, drawn, tmp_path_factory):
    table, payouts = drawn
    path = tmp_path_factory.mktemp("out") / "payouts.csv"
    write_files([(str(path), columnar.csv_writer(plan, table, PERIODS))])
    with open(path, encoding="utf-8", newline="") as fh:  # (newline="": a CR in an id stays one)
        assert fh.read() == report_csv(payouts)
    assert columnar.to_csv(plan, table, PERIODS) == report_csv(payouts)


@settings(max_examples=40, deadline=None)
@given(runs=st.integers(0, 12), n=st.integers(1, 4))
def test_both_layouts_agree_when_every_component_is_there(runs, n):
    """The arithmetic layout (every payee-period has its n components) against the counting
    one, given the same full table: the same rows, the same places, the same components."""
    rows = runs * n
    ends = pl.int_range(0, runs, dtype=pl.UInt32, eager=True) * n + (n - 1)
    comps = pl.int_range(0, rows, dtype=pl.Int32, eager=True) % n
    full = columnar._layout(ends, rows, n, None)
    counted = columnar._layout(ends, rows, n, comps)
    for a, b in zip(full, counted):
        assert a.cast(pl.Int64).to_list() == b.cast(pl.Int64).to_list()
    # by hand, n = 2, two payee-periods: rows 0 1 total(0) 2 3 total(1)
    if (runs, n) == (2, 2):
        assert full[0].to_list() == [0, 1, 1, 2, 3, 3]  # a total takes its last row's payee
        assert full[1].to_list() == [0, 1, 4, 2, 3, 5]  # amounts ++ totals
        assert full[2].to_list() == [0, 1, 2, 0, 1, 2]


def test_ids_quoted_and_escaped_by_hand(plan):
    table = pl.DataFrame({"payee_id": ["=a,b", "=a,b", "a\rb"], "period": [period_key(PERIODS[0])] * 3,
                          "__o": [0, 0, 1], "__c": [0, 1, 0],
                          "amount": [Decimal("0.005"), Decimal("-0.015"), Decimal("-0.004")]},
                         schema={"payee_id": pl.String, "period": pl.String, "__o": pl.UInt32,
                                 "__c": pl.Int32, "amount": DEC})
    # 0.005 -> 0.01, -0.015 -> -0.02 (half up: away from zero), total -0.010 -> -0.01;
    # -0.004 -> 0.00 (never -0.00); '=a,b' escaped then quoted; the CR id quoted
    assert columnar.to_csv(plan, table, PERIODS) == (
        "payee_id,period,component,amount,currency\n"
        "\"'=a,b\",2025-01,a,0.01,EUR\n\"'=a,b\",2025-01,b,-0.02,EUR\n\"'=a,b\",2025-01,total,-0.01,EUR\n"
        "\"a\rb\",2025-01,a,0.00,EUR\n\"a\rb\",2025-01,total,0.00,EUR\n")


@settings(max_examples=40, deadline=None)
@given(items=st.lists(st.integers(), max_size=12), depth=st.integers(1, 3))
def test_slices_made_ahead_come_in_order(items, depth):
    assert list(columnar._built_ahead(iter(items), depth)) == items


def test_an_error_making_a_slice_is_raised_where_that_slice_comes():
    def parts():
        yield "first"
        yield "second"
        raise OSError(28, "No space left on device")
    got = []
    with pytest.raises(OSError) as caught:
        for part in columnar._built_ahead(parts()):
            got.append(part)
    assert got == ["first", "second"] and caught.value.errno == 28


def test_a_writer_that_stops_early_stops_the_making_and_leaves_no_thread():
    import threading
    made = []

    def parts():
        for i in range(1000):
            made.append(i)
            yield i
    ahead = columnar._built_ahead(parts(), depth=1)
    with pytest.raises(ValueError):
        for part in ahead:
            if part == 2:
                raise ValueError("the file could not take it")
    ahead.close()  # (as csv_writer does, through contextlib.closing)
    # the caller took 0, 1, 2; the thread made at most two more (one waiting, one being put)
    assert len(made) <= 5
    assert not any(t.name == "kamrules-csv-slices" for t in threading.enumerate())
