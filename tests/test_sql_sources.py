"""`input x from sql "SELECT ..."` with `--db URL`: SQLite and DuckDB files, and a real
PostgreSQL server (KAMRULES_TEST_PG, a URL that .ci/run sets after starting Debian's
postgresql; the PostgreSQL tests skip with the reason when it is not set or not reachable).

The plan pays 2.5% on k1's January deal and 10% on k2's February deal:
  k1 2025-01: 12345.67 * 0.025 = 308.64175 -> 308.64
  k2 2025-02:  1000.50 * 0.1   = 100.05
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3

import pytest

from kamrules.data.sql import mask

PLAN = '''plan "sql"
currency EUR
period month
payees kams
input kams from sql "SELECT payee_id, name FROM kams" key payee_id {
  payee_id: Text
  name: Text
}
input deals from sql "SELECT deal_id, owner_id, AMOUNT, rate, close_date FROM deals" key deal_id {
  deal_id: Text
  owner_id: Text references kams
  amount: Money[EUR]
  rate: Rate
  close_date: Date
}
component commission = sum(amount * rate for deals where owner_id == payee.id and close_date in period)
'''
EXPECTED = """payee_id,period,component,amount,currency
k1,2025-01,commission,308.64,EUR
k1,2025-01,total,308.64,EUR
k1,2025-02,commission,0.00,EUR
k1,2025-02,total,0.00,EUR
k2,2025-01,commission,0.00,EUR
k2,2025-01,total,0.00,EUR
k2,2025-02,commission,100.05,EUR
k2,2025-02,total,100.05,EUR
"""
SCHEMA = """
CREATE TABLE kams (payee_id VARCHAR(10), name VARCHAR(40));
INSERT INTO kams VALUES ('k1', 'Zoé'), ('k2', 'Jean');
CREATE TABLE deals (deal_id VARCHAR(10), owner_id VARCHAR(10), amount DECIMAL(18, 2), rate NUMERIC(8, 4),
                    close_date DATE, approx DOUBLE PRECISION, note VARCHAR(20));
INSERT INTO deals VALUES ('d1', 'k1', 12345.67, 0.025, DATE '2025-01-21', 1.5, 'ok'),
                         ('d2', 'k2', 1000.50, 0.1, DATE '2025-02-03', 2.5, 'twelve');
"""


def _sqlite(folder) -> str:
    path = folder / "crm.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA.replace("DATE '", "'"))
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"  # an absolute path: sqlite:////tmp/...


def _duckdb(folder) -> str:
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'kamrules[duckdb]')")
    path = folder / "crm.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute(SCHEMA)
    conn.close()
    return f"duckdb:///{path}"


def _postgres(folder) -> str:
    url = os.environ.get("KAMRULES_TEST_PG")
    if not url:
        pytest.skip("KAMRULES_TEST_PG is not set: no PostgreSQL server to test against (.ci/run starts one)")
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'kamrules[postgres]')")
    try:
        conn = psycopg.connect(url, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as err:
        pytest.skip(f"the PostgreSQL server of KAMRULES_TEST_PG does not answer: {err}")
    schema = "kr_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    _SCHEMAS.append((url, schema))
    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(f"SET search_path TO {schema}")
    conn.execute(SCHEMA)
    conn.close()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


_SCHEMAS: list = []  # (server URL, schema) made by _postgres, dropped after the module


@pytest.fixture(scope="module", autouse=True)
def _drop_schemas():
    yield
    for url, schema in _SCHEMAS:
        import psycopg
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    _SCHEMAS.clear()


BACKENDS = {"sqlite": _sqlite, "duckdb": _duckdb, "postgres": _postgres}


@pytest.fixture(params=list(BACKENDS))
def db(request, tmp_path):
    """(URL, folder holding plan.kam and the empty data folder data/)."""
    url = BACKENDS[request.param](tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    return url, tmp_path


def _execute(url, sql):
    """Run a change on the test database (to show a snapshot outlives it)."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute(sql)
        conn.commit()
    elif url.startswith("duckdb:"):
        import duckdb
        conn = duckdb.connect(url.removeprefix("duckdb:///"))
        conn.execute(sql)
    else:
        import psycopg
        conn = psycopg.connect(url, autocommit=True)
        conn.execute(sql)
    conn.close()


@pytest.mark.parametrize("engine", ["columnar", "interpreter"])
def test_run_on_the_database_matches_by_hand(cli, db, engine):
    url, folder = db
    r = cli("run", folder / "plan.kam", "--data", folder / "data", "--db", url, "--engine", engine)
    assert r.returncode == 0, r.stderr
    assert r.stdout == EXPECTED


def test_snapshot_is_content_addressed_and_in_the_meta(cli, db):
    url, folder = db
    r = cli("run", folder / "plan.kam", "--data", folder / "data", "--db", url, "--format", "json")
    assert r.returncode == 0, r.stderr
    meta = json.loads(r.stdout)["meta"]["inputs"]
    snaps = folder / "data" / "snapshots"
    for name in ("kams", "deals"):
        digest = meta[name]["sha256"]
        path = snaps / meta[name]["file"]
        assert path.name == f"{name}-{digest}.parquet"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    # the database changes: a new snapshot, the old one kept as it was (the run is reproducible)
    first = snaps / meta["deals"]["file"]
    _execute(url, "UPDATE deals SET amount = 2000.00 WHERE deal_id = 'd2'")
    r = cli("run", folder / "plan.kam", "--data", folder / "data", "--db", url, "--format", "json")
    again = json.loads(r.stdout)
    assert again["meta"]["inputs"]["deals"]["sha256"] != meta["deals"]["sha256"]
    assert again["meta"]["inputs"]["kams"] == meta["kams"]  # same rows, same snapshot
    assert hashlib.sha256(first.read_bytes()).hexdigest() == meta["deals"]["sha256"]
    paid = {(p["payee_id"], p["period"], p["component"]): p["amount"] for p in again["payouts"]}
    assert paid[("k2", "2025-02", "commission")] == "200.00"  # 2000.00 * 10%
    # the old snapshot, read as a Parquet input, gives the first run's amounts
    (folder / "old.kam").write_text(PLAN.replace(
        'from sql "SELECT deal_id, owner_id, AMOUNT, rate, close_date FROM deals"',
        f'from "snapshots/{first.name}"'), encoding="utf-8")
    r = cli("run", folder / "old.kam", "--data", folder / "data", "--db", url)
    assert r.stdout == EXPECTED


def test_float_column_is_refused_and_nothing_is_written(cli, db):
    url, folder = db
    plan = folder / "plan.kam"
    plan.write_text(PLAN.replace("AMOUNT, rate", "approx AS amount, rate"), encoding="utf-8")
    out = folder / "out.csv"
    r = cli("run", plan, "--data", folder / "data", "--db", url, "-o", out)
    assert r.returncode == 1
    assert "KR433" in r.stderr and "column `amount`" in r.stderr
    assert not out.exists()
    assert not list((folder / "data").glob("snapshots/deals-*"))  # the refused rows are not kept


@pytest.mark.parametrize("select, code, words", [
    ("note AS amount", "KR403", ["`twelve` is not a decimal number", "`ok`"]),  # validated like CSV cells
    ("amount AS amt", "KR402", ["returns no column `amount`"]),
])
def test_query_results_are_validated(cli, db, select, code, words):
    url, folder = db
    plan = folder / "plan.kam"
    plan.write_text(PLAN.replace("AMOUNT, rate", f"{select}, rate"), encoding="utf-8")
    r = cli("run", plan, "--data", folder / "data", "--db", url)
    assert r.returncode == 1
    assert code in r.stderr and all(w in r.stderr for w in words)


def test_check_explain_and_statement_take_db(cli, db):
    url, folder = db
    data = folder / "data"
    assert cli("check", folder / "plan.kam", "--data", data, "--db", url).returncode == 0
    r = cli("explain", folder / "plan.kam", "--data", data, "--db", url, "--payee", "k2", "--period", "2025-02")
    assert r.returncode == 0, r.stderr
    assert "100.05" in r.stdout
    r = cli("statement", folder / "plan.kam", "--data", data, "--db", url, "--payee", "k1",
            "--period", "2025-01", "-o", folder / "k1.html")
    assert r.returncode == 0, r.stderr
    assert "308.64" in (folder / "k1.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("engine", ["columnar", "postgres"])
def test_payroll_on_the_database(cli, tmp_path, engine):
    """`close`, `run --ledger`, `diff --ledger` and `team --ledger` take --db (they stopped on
    KR401 or a traceback before). k1's January closes at 308.64 (the module's arithmetic); the
    database then corrects d1 to 20,000.00: 20000 * 0.025 = 500.00, so February pays an
    adjustment of 500.00 - 308.64 = 191.36 for January, once. Each command runs each query once
    (one new snapshot per input whose rows changed). PostgreSQL: the plan computed in the
    server on the inputs in place (the snapshots give the periods and the ledger's hashes)."""
    url = _sqlite(tmp_path) if engine == "columnar" else _postgres(tmp_path)
    data, ledger, plan = tmp_path / "data", tmp_path / "ledger", tmp_path / "plan.kam"
    data.mkdir()
    plan.write_text(PLAN, encoding="utf-8")
    db = ("--data", data, "--db", url, "--engine", engine)
    r = cli("close", plan, *db, "--period", "2025-01", "--ledger", ledger)
    assert r.returncode == 0 and "paid 308.64 EUR" in r.stdout, r.stderr
    _execute(url, "UPDATE deals SET amount = 20000.00 WHERE deal_id = 'd1'")
    r = cli("run", plan, *db, "--ledger", ledger)
    assert r.returncode == 0, r.stderr
    assert "k1,2025-02,commission,2025-01,191.36,EUR" in r.stdout and "k2,2025-02,commission,,100.05,EUR" in r.stdout
    snapshots = sorted(p.name for p in (data / "snapshots").iterdir()) if (data / "snapshots").exists() else []
    assert len(snapshots) == 3, snapshots  # kams once, deals before and after the correction
    (tmp_path / "new.kam").write_text(PLAN.replace("amount * rate", "amount * rate * 2"), encoding="utf-8")
    r = cli("diff", plan, tmp_path / "new.kam", *db, "--ledger", ledger)
    assert r.returncode == 0 and "191.36" in r.stdout, r.stderr
    r = cli("team", plan, *db, "--ledger", ledger, "--format", "md")
    assert r.returncode == 0, r.stderr


def test_no_database_given(cli, tmp_path):
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    r = cli("run", tmp_path / "plan.kam", "--data", tmp_path, env={"KAMRULES_DB": None})
    assert r.returncode == 1
    assert "KR430" in r.stderr and "inputs `kams`, `deals` read a database" in r.stderr


@pytest.mark.parametrize("url, code", [("mysql://u@h/db", "KR431"), ("sqlite:///no/such.db", "KR432"),
                                       ("nonsense", "KR431")])
def test_bad_urls(cli, tmp_path, url, code):
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    r = cli("run", tmp_path / "plan.kam", "--data", tmp_path, "--db", url)
    assert r.returncode == 1
    assert code in r.stderr


def test_failing_query_is_said_with_the_url_masked(cli, tmp_path):
    url = _sqlite(tmp_path)
    (tmp_path / "plan.kam").write_text(PLAN.replace("FROM deals", "FROM no_such_table"), encoding="utf-8")
    r = cli("run", tmp_path / "plan.kam", "--data", tmp_path, "--db", url)
    assert r.returncode == 1
    assert "KR432" in r.stderr and "no such table: no_such_table" in r.stderr


def test_password_is_never_printed(cli, tmp_path):
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'kamrules[postgres]')")
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    # nothing listens on port 9 (discard): the connection fails at once, on this machine
    url = "postgresql://payroll:S3cr3t-Pa55@127.0.0.1:9/crm"
    r = cli("run", tmp_path / "plan.kam", "--data", tmp_path, "--db", url)
    assert r.returncode == 1
    assert "KR432" in r.stderr
    assert "S3cr3t-Pa55" not in r.stderr + r.stdout
    assert "postgresql://payroll:***@127.0.0.1:9/crm" in r.stderr


def test_password_is_taken_out_of_driver_messages():
    from kamrules.data.sql import scrub
    url = "postgresql://u:p%40ss@h/db"
    assert scrub(f"failed for {url}: password p@ss rejected", url) == \
        "failed for postgresql://u:***@h/db: password *** rejected"


def test_mask():
    assert mask("postgresql://u:p%40ss@h:5432/db?sslmode=require") == "postgresql://u:***@h:5432/db?sslmode=require"
    assert mask("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_postgres_float_types_are_named(cli, tmp_path):
    url = _postgres(tmp_path)
    (tmp_path / "plan.kam").write_text(PLAN.replace("AMOUNT, rate", "amount, approx::real AS rate"),
                                       encoding="utf-8")
    r = cli("run", tmp_path / "plan.kam", "--data", tmp_path, "--db", url)
    assert r.returncode == 1
    assert "KR433" in r.stderr and "`rate` is real (float4)" in r.stderr


def test_exact_decimal_beyond_float_precision(cli, db):
    """17 significant digits: a float would turn 123456789012345.67 into ...345.66 or .69."""
    url, folder = db
    if url.startswith("sqlite:"):
        pytest.skip("SQLite stores DECIMAL as a binary float (15 digits): documented, not exact")
    _execute(url, "UPDATE deals SET amount = 123456789012345.67, rate = 1 WHERE deal_id = 'd1'")
    r = cli("run", folder / "plan.kam", "--data", folder / "data", "--db", url, "--period", "2025-01",
            "--payee", "k1")
    assert r.returncode == 0, r.stderr
    assert "k1,2025-01,commission,123456789012345.67,EUR" in r.stdout


def test_test_command_reads_from_sql_inputs_on_db(cli, db):
    """`kamrules test --db URL`: each case queries the database (k1's January deal: 308.64 as
    by hand in the module doc); a wrong expectation fails; no database: the case errs KR430;
    nothing is written beside the cases (the snapshots go to a temporary folder)."""
    url, folder = db
    case = folder / "tests" / "plan" / "january"
    case.mkdir(parents=True)
    (case / "case.toml").write_text('period = "2025-01"\n', encoding="utf-8")
    (case / "expected.csv").write_text("payee_id,period,component,amount,currency\n"
                                       "k1,2025-01,commission,308.64,EUR\n", encoding="utf-8")
    r = cli("test", folder / "plan.kam", "--db", url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS  plan::january" in r.stdout
    assert sorted(p.name for p in case.iterdir()) == ["case.toml", "expected.csv"]
    (case / "expected.csv").write_text("payee_id,period,component,amount,currency\n"
                                       "k1,2025-01,commission,308.65,EUR\n", encoding="utf-8")
    r = cli("test", folder / "plan.kam", "--db", url)
    assert r.returncode == 1 and "FAIL  plan::january" in r.stdout and "308.64" in r.stdout
    r = cli("test", folder / "plan.kam", env={"KAMRULES_DB": None})
    assert r.returncode == 1 and "ERROR plan::january" in r.stdout and "KR430" in r.stdout


# A query that never ends by itself: it returns no row until the time limit stops it.
ENDLESS = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
              "SELECT 'k' || x AS payee_id, 'n' AS name FROM c WHERE x < 0",
    "duckdb": "SELECT 'k' || range AS payee_id, 'n' AS name FROM range(1000000000000) "
              "WHERE hash(range) = 0 AND hash(range + 1) = 0",
    "postgres": "SELECT 'k' AS payee_id, 'n' AS name FROM pg_sleep(5)",
}


def test_a_query_over_db_timeout_stops_with_kr461(cli, db):
    """--db-timeout 1: the query that would run for ever (or 5 s: pg_sleep) is stopped; the run
    ends with KR461 naming the input and the limit, no output file, no snapshot."""
    url, folder = db
    kind = "sqlite" if url.startswith("sqlite") else "duckdb" if url.startswith("duckdb") else "postgres"
    plan = folder / "plan.kam"
    plan.write_text(PLAN.replace("SELECT payee_id, name FROM kams", ENDLESS[kind]), encoding="utf-8")
    out = folder / "out.csv"
    r = cli("run", plan, "--data", folder / "data", "--db", url, "--db-timeout", "1", "-o", out)
    assert r.returncode == 1, r.stdout
    assert "error[KR461]: input `kams`: the query ran over --db-timeout 1 s" in r.stderr
    assert "kamrules-test" not in r.stderr  # the password is never printed
    assert not out.exists() and not list((folder / "data").glob("snapshots/*"))


def test_a_locked_sqlite_file_waits_at_most_db_timeout(cli, tmp_path):
    """A writer holds an exclusive lock on the SQLite file: the read waits the busy timeout,
    then KR461 (not a hang)."""
    url = _sqlite(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    writer = sqlite3.connect(tmp_path / "crm.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        r = cli("run", tmp_path / "plan.kam", "--data", tmp_path / "data", "--db", url, "--db-timeout", "0.2")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert r.returncode == 1 and "error[KR461]" in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_db_timeout_takes_a_positive_number_of_seconds(cli, value, tmp_path):
    r = cli("run", "plans/abtasty-kam.kam", "--data", tmp_path, "--db-timeout", value)
    assert r.returncode == 2 and "is not a number of seconds above 0" in r.stderr


def test_the_portal_reads_the_database_and_queries_it_again(tmp_path, monkeypatch):
    """`kamrules serve --db`: the portal's pages computed from the `from sql` inputs (k1's
    January: 308.64, the module's arithmetic); its queries run again on the first request
    after REQUERY seconds, so a deal corrected in the database (d1 to 20,000.00: 20000 x 2.5%
    = 500.00) shows without a restart; within REQUERY, the pages are not computed again."""
    testclient = pytest.importorskip("starlette.testclient", reason="the `portal` extra is not installed")
    from kamrules.portal import app
    url = _sqlite(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    clock = [1000.0]
    monkeypatch.setattr(app.time, "monotonic", lambda: clock[0])
    portal = app.Portal(str(tmp_path / "plan.kam"), str(tmp_path / "data"), db=url)
    c = testclient.TestClient(app.make_app(portal))
    r = c.get("/payees/k1")
    assert r.status_code == 200 and "308.64" in r.text
    _execute(url, "UPDATE deals SET amount = 20000.00 WHERE deal_id = 'd1'")
    clock[0] += 1
    assert "308.64" in c.get("/payees/k1").text
    before = portal.computations
    clock[0] += app.REQUERY
    r = c.get("/payees/k1")
    assert "500.00" in r.text and "308.64" not in r.text and portal.computations == before + 1
