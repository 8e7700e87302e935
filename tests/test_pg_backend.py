"""`--engine postgres` (kamrules/backends/sql/postgres.py): the plan computed inside a real
PostgreSQL server (KAMRULES_TEST_PG, started by .ci/postgres; the tests skip with the reason
when it is not set or does not answer), against the interpreter: the same bytes on one case
folder of every plan it accepts (file inputs sent up as temporary tables), the `from sql`
inputs read in place (no snapshot written), the rows it cannot vouch for handed to the
interpreter, nothing written by a query, the exact rounding helpers on PostgreSQL's NUMERIC,
and its diagnostics (KR440, KR448, KR449, KR462)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from contextlib import redirect_stdout
from decimal import Decimal

import pytest

from conftest import HYPOTHESIS_PROFILE, PLANS, examples, serial_runs
from kamrules.cli.main import main

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'kamrules[postgres]')")
pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install 'kamrules[postgres]')")

from hypothesis import given, settings, strategies as st  # noqa: E402

from test_sql_backend import _case_data  # noqa: E402
from test_sql_sources import EXPECTED, PLAN, SCHEMA  # noqa: E402
from kamrules.backends.sql import engine  # noqa: E402
from kamrules.backends.sql.exact import MODES, cast, round_ratio  # noqa: E402
from kamrules.core.numeric import compute, quantize  # noqa: E402

# the plans compared by default, one case folder each (the suite's time is short): quotients and
# assignee() (abtasty-kam), comparisons across scales (equipment-colour-grid), fx()'s ASOF join,
# share() on quotient weights (pharma-rire), `require` rules (split-credit), team_total(); under
# the `long` hypothesis profile every plan on every case folder
# paid() with `hold when` (media-advance), paid() over a year (recoverable-draw), a pay currency
# per payee (pay-currency)
SAMPLE = ("abtasty-kam", "equipment-colour-grid", "fx-commission", "pharma-rire", "split-credit", "team-bonus",
          "media-advance", "recoverable-draw", "pay-currency")
LONG = HYPOTHESIS_PROFILE == "long"


@pytest.fixture(scope="module")
def pg():
    """(server URL, URL whose search_path is a schema of this module's own, dropped after)."""
    url = os.environ.get("KAMRULES_TEST_PG")
    if not url:
        pytest.skip("KAMRULES_TEST_PG is not set: no PostgreSQL server to test against (.ci/run starts one)")
    try:
        conn = psycopg.connect(url, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as err:
        pytest.skip(f"the PostgreSQL server of KAMRULES_TEST_PG does not answer: {err}")
    schema = "kr_pg_" + hashlib.sha256(f"{os.getpid()} {__file__}".encode()).hexdigest()[:10]
    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(f"SET search_path TO {schema}")
    conn.execute(SCHEMA)
    # a function that writes: a query calling it must fail (read-only), the log stay empty
    conn.execute("CREATE TABLE writes (n INT)")
    conn.execute("CREATE FUNCTION kr_write() RETURNS INT LANGUAGE sql AS $$ INSERT INTO writes VALUES (1) RETURNING 1 $$")
    sep = "&" if "?" in url else "?"
    yield url, f"{url}{sep}options=-csearch_path%3D{schema}", conn
    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.close()


def _cli(*args, capsys):
    out = io.StringIO()
    with redirect_stdout(out), serial_runs():
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def handed(monkeypatch):
    """The reasons the SQL backend handed a run to the interpreter (engine.Fallback)."""
    why, real = [], engine.evaluate_sql

    def spy(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        except engine.Fallback as err:
            why.append(str(err))
            raise
    monkeypatch.setattr(engine, "evaluate_sql", spy)
    return why


def test_every_plan_gives_the_interpreters_bytes(pg, handed, tmp_path, capsys):
    """The plans of SAMPLE, one case folder each (file inputs: temporary tables in
    PostgreSQL), every plan on every case folder under the `long` profile: the interpreter's
    exit code, output and messages, computed by PostgreSQL where the interpreter pays (paid(),
    `hold when` and a pay currency per payee included)."""
    url = pg[0]
    for path in sorted(PLANS.glob("*.kam")):
        cases = sorted(p for p in (PLANS / "tests" / path.stem).glob("*/") if (p / "case.toml").exists())
        for case in cases if LONG else cases[:1] if path.stem in SAMPLE else ():
            _compare(path, case, url, handed, tmp_path / path.stem / case.name, capsys)


def _compare(path, case, url, handed, into, capsys):
    """One case folder on the interpreter and on PostgreSQL."""
    into.parent.mkdir(parents=True, exist_ok=True)
    data, period = _case_data(case, into)
    want = _cli("run", path, "--data", data, *period, "--engine", "interpreter", capsys=capsys)
    got = _cli("run", path, "--data", data, *period, "--engine", "postgres", "--db", url, capsys=capsys)
    assert got == want, case
    assert want[0] != 0 or not handed, (case, handed)
    handed.clear()


def test_sql_inputs_are_read_in_place(pg, handed, tmp_path, capsys):
    """The plan of tests/test_sql_sources.py (k1: 12345.67 x 2.5% = 308.64; k2: 1000.50 x 10%
    = 100.05), both inputs queries: computed by PostgreSQL, no snapshot in the data folder;
    then `kams` from a CSV file (a temporary table) referenced by the query's `deals`."""
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    (tmp_path / "data").mkdir()
    got = _cli("run", tmp_path / "plan.kam", "--data", tmp_path / "data", "--engine", "postgres", "--db", pg[1],
               capsys=capsys)
    assert got == (0, EXPECTED, "") and not handed
    assert list((tmp_path / "data").iterdir()) == []  # nothing copied out of the database
    rc, out, _ = _cli("run", tmp_path / "plan.kam", "--data", tmp_path / "data", "--engine", "postgres", "--db", pg[1],
                      "--format", "json", capsys=capsys)  # the meta records each query (no snapshot to hash)
    assert rc == 0 and json.loads(out)["meta"]["inputs"]["kams"] == {"query": "SELECT payee_id, name FROM kams"}
    mixed = PLAN.replace('input kams from sql "SELECT payee_id, name FROM kams"', "input kams")
    (tmp_path / "mixed.kam").write_text(mixed, encoding="utf-8")
    (tmp_path / "data" / "kams.csv").write_text("payee_id,name\nk1,Zoé\nk2,Jean\n", encoding="utf-8")
    got = _cli("run", tmp_path / "mixed.kam", "--data", tmp_path / "data", "--engine", "postgres", "--db", pg[1],
               "--payee", "k2", capsys=capsys)
    assert got == (0, "".join(line for line in EXPECTED.splitlines(True) if not line.startswith("k1")), "")
    assert not handed


def test_held_and_paid_in_postgresql(pg, handed, tmp_path, capsys):
    """`hold when` (tests/test_holds.py's case) and paid() in one PostgreSQL run, for April
    alone: the frame computes January to March first; p1's February 200.00 and March 300.00
    are held until their invoices are out in April, which books nothing and pays 500.00;
    paid() reads the amounts computed in the year before April, held or not: 100.00 + 200.00
    + 300.00 = 600.00. The interpreter's bytes, no hand-over."""
    from test_holds import DEALS, PLAN as HELD
    (tmp_path / "people.csv").write_text("payee_id\np1\np2\n")
    (tmp_path / "deals.csv").write_text(DEALS)
    (tmp_path / "plan.kam").write_text(HELD + "component before = paid(commission, period.year)\n")
    args = ("run", tmp_path / "plan.kam", "--data", tmp_path, "--period", "2025-04")
    want = _cli(*args, "--engine", "interpreter", capsys=capsys)
    got = _cli(*args, "--engine", "postgres", "--db", pg[0], capsys=capsys)
    assert got == want and not handed
    assert "p1,2025-04,commission,500.00,EUR" in got[1] and "p1,2025-04,before,600.00,EUR" in got[1]


def test_kamrules_test_runs_its_cases_in_postgresql(pg, handed, capsys):
    """`kamrules test --engine postgres --db URL`: the case's tables (loaded by the test
    runner) computed in PostgreSQL, the case passes."""
    rc, out, _ = _cli("test", PLANS / "tests" / "team-bonus" / "example", "--engine", "postgres", "--db", pg[0],
                      capsys=capsys)
    assert rc == 0 and "1 passed" in out and not handed


@pytest.mark.parametrize("query, why", [
    ("SELECT deal_id, owner_id, approx AS amount, rate, close_date FROM deals", "a float column (KR433)"),
    ("SELECT deal_id, owner_id, amount + 0.001 AS amount, rate, close_date FROM deals", "3 places in EUR"),
    ("SELECT deal_id, 'k9' AS owner_id, amount, rate, close_date FROM deals", "a missing reference"),
])
def test_rows_it_cannot_vouch_for_go_to_the_interpreter(pg, handed, tmp_path, capsys, query, why):
    """The same exit code and messages as the interpreter (which reads the query's
    snapshot and words the error), the run handed over before any computation."""
    plan = PLAN.replace("SELECT deal_id, owner_id, AMOUNT, rate, close_date FROM deals", query)
    (tmp_path / "plan.kam").write_text(plan, encoding="utf-8")
    (tmp_path / "data").mkdir()
    args = ("run", tmp_path / "plan.kam", "--data", tmp_path / "data", "--db", pg[1], "--engine")
    want = _cli(*args, "interpreter", capsys=capsys)
    got = _cli(*args, "postgres", capsys=capsys)
    assert got == want and want[0] == 1 and handed, why


def test_a_query_can_write_nothing(pg, tmp_path, capsys):
    """Every statement reading a query runs in a READ ONLY transaction: a query calling a
    function that INSERTs stops the run (KR462), and the table stays empty."""
    plan = PLAN.replace("SELECT payee_id, name FROM kams", "SELECT payee_id, name, kr_write() AS w FROM kams")
    (tmp_path / "plan.kam").write_text(plan, encoding="utf-8")
    (tmp_path / "data").mkdir()
    rc, out, err = _cli("run", tmp_path / "plan.kam", "--data", tmp_path / "data", "--db", pg[1],
                        "--engine", "postgres", capsys=capsys)
    assert (rc, out) == (1, "") and "KR462" in err and "read-only transaction" in err
    assert pg[2].execute("SELECT count(*) FROM writes").fetchone()[0] == 0


def test_a_statement_over_db_timeout_stops_the_run(pg, tmp_path, capsys):
    """--db-timeout bounds every statement of the run (statement_timeout): a query sleeping
    0.2 s per row under a limit of 0.05 s is KR461, no output."""
    plan = PLAN.replace("SELECT payee_id, name FROM kams", "SELECT payee_id, name FROM kams WHERE pg_sleep(0.2) IS NOT NULL")
    (tmp_path / "plan.kam").write_text(plan, encoding="utf-8")
    (tmp_path / "data").mkdir()
    rc, out, err = _cli("run", tmp_path / "plan.kam", "--data", tmp_path / "data", "--db", pg[1],
                        "--db-timeout", "0.05", "--engine", "postgres", capsys=capsys)
    assert (rc, out) == (1, "") and "KR461" in err and "--db-timeout" in err


CASE = st.tuples(st.decimals(min_value=-10**9, max_value=10**9, places=3),
                 st.decimals(min_value=-10**5, max_value=10**5, places=4).filter(lambda x: x != 0),
                 st.sampled_from([Decimal("0.01"), Decimal(1), Decimal("0.05"), Decimal(5), Decimal("0.0001")]),
                 st.sampled_from(MODES))


def test_the_rounding_helpers_are_exact_on_numeric(pg):
    """round(n / d) by integer quotient and remainder (exact.py, as PostgreSQL functions of
    NUMERIC: no `/`, no native round) == numeric.quantize(compute('/')), on one connection."""
    from kamrules.backends.sql.postgres import Inputs
    con = Inputs(None, pg[0], None, None).connect()

    @settings(max_examples=examples(5), deadline=None)
    @given(cases=st.lists(CASE, min_size=1, max_size=40))
    def check(cases):
        sql = ", ".join(round_ratio(cast(f"'{n}'", 3), 3, cast(f"'{d}'", 4), 4, step, mode)[0]
                        for n, d, step, mode in cases)
        got = con.execute("SELECT " + sql)[0]
        assert list(got) == [quantize(compute("/", n, d), step, mode) for n, d, step, mode in cases]
    try:
        check()
        # a half-point exactly: 5 / 2 = 2.5 -> 2 half-even, where PostgreSQL's own round() gives 3
        five, two = cast("'5'", 0), cast("'2'", 0)
        assert con.execute("SELECT " + round_ratio(five, 0, two, 0, Decimal(1), "half_even")[0])[0] == (Decimal(2),)
        assert con.run("SELECT round(5 / 2.0)")[0] == (Decimal(3),)
    finally:
        con.close()


def test_generated_data_gives_the_interpreters_bytes(pg, tmp_path):
    """tests/test_sql_backend.py's generated plan (sums, counts and exists per payee and
    quarter: aggregations written as grouped joins for PostgreSQL, decorrelate.py; quotients
    rounded; an unrounded ratio) on generated deals, some payees without any, some quarters
    empty: PostgreSQL's payouts are the interpreter's."""
    from test_sql_backend import HEAD
    from kamrules.backends.interp import plan_periods
    from kamrules.backends.interp.run import evaluate
    from kamrules.backends.sql.postgres import Inputs
    from kamrules.cli.common import load
    from kamrules.data.fast import frames_from_tables
    from kamrules.data.strict import load_data
    from kamrules.report.payouts import to_csv
    path = tmp_path / "g.kam"
    # and a count over rows that may be none (no group on PostgreSQL's side: count() is 0, not NULL)
    path.write_text(HEAD.format(mode="half_even", step="cent") + "component counted = money(count(mine))\n")
    plan = load(path)[0]
    data = tmp_path / "data"

    @settings(max_examples=examples(2), deadline=None)
    @given(bases=st.lists(st.decimals(min_value=1, max_value=90000, places=2), min_size=1, max_size=3),
           deals=st.lists(st.tuples(st.sampled_from("abc"), st.decimals(min_value=-5000, max_value=50000, places=2),
                                    st.sampled_from(["2025-01-15", "2025-03-31", "2025-04-01", "2025-09-30"]),
                                    st.sampled_from(["won", "lost", "renewal"])), min_size=1, max_size=20))
    def check(bases, deals):
        data.mkdir(exist_ok=True)
        (data / "people.csv").write_text("payee_id,base\n" + "".join(f"{p},{b}\n" for p, b in zip("abc", bases)))
        (data / "deals.csv").write_text("deal_id,payee_id,amount,close_date,kind\n" + "".join(
            f"d{i},{p},{a},{d},{k}\n" for i, (p, a, d, k) in enumerate(deals)))
        tables = load_data(plan, str(data))
        periods = plan_periods(plan, tables)
        frames = frames_from_tables(plan, tables)
        got = engine.evaluate_sql(plan, Inputs(plan, pg[0], None, lambda: frames), periods, dialect="postgres")
        assert to_csv(got) == to_csv(evaluate(plan, tables, periods, trace=False))
    check()


def test_a_division_in_a_statement_would_be_refused():
    """The translator writes no `/` (PostgreSQL would pick the quotient's scale): the static
    guard behind KR440 finds one, and not a `/` inside a string or a name."""
    from kamrules.backends.sql.postgres import division
    assert "/ b" in division([("exec", "SELECT CAST(a AS DECIMAL(38, 2)) / b FROM t")])
    assert division([("exec", "SELECT '1/2' AS \"x/y\", a // b FROM t")]) is None


def test_its_diagnostics(pg, tmp_path, capsys, monkeypatch):
    path, data = PLANS / "kam-capped.kam", PLANS / "tests" / "kam-capped" / "rate-edges"
    monkeypatch.delenv("KAMRULES_DB", raising=False)
    rc, out, err = _cli("run", path, "--data", data, "--engine", "postgres", capsys=capsys)
    assert (rc, out) == (1, "") and "KR448" in err and "no --db names one" in err
    rc, _, err = _cli("run", path, "--data", data, "--engine", "postgres", "--db", "sqlite:///x.db", capsys=capsys)
    assert rc == 1 and "KR448" in err and "--db sqlite:///x.db is not one" in err
    rc, _, err = _cli("run", path, "--data", data, "--engine", "postgres",
                      "--db", "postgresql://kr:s3cret@127.0.0.1:1/kr", capsys=capsys)  # port 1: refused at once
    assert rc == 1 and "KR462" in err and "cannot connect" in err and "s3cret" not in err
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` fails
    rc, _, err = _cli("run", path, "--data", data, "--engine", "postgres", "--db", pg[0], capsys=capsys)
    assert rc == 1 and "KR449" in err and "pip install 'kamrules[postgres]'" in err
