"""`--engine spark`: the SQL backend's statements on PySpark in local mode, against the
interpreter: the same output bytes (plans of plans/, `hold when`, generated data), an
overflow handed over to the interpreter (never a NULL or a wrapped value: ANSI mode), a
refused plan's KR440, and the diagnostics of a missing pyspark or Java. Spark starts once per
process (seconds): the tests run on one xdist worker (xdist_group) and share the process's
SparkSession. Each Spark run costs seconds, so under the "ci" hypothesis profile one case
folder of each plan chosen for its constructs (decision cells comparing decimals of different
scales, team_total()'s window, fx() to each payee's code by a keyed ASOF join), and `hold
when` with paid() in one run; under "long" (KAMRULES_HYPOTHESIS_PROFILE=long), every plan on
every case folder."""
from __future__ import annotations

import os

import pytest

pytest.importorskip("sqlglot", reason="sqlglot (extra `spark`) is not installed")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from conftest import HYPOTHESIS_PROFILE, PLANS, examples, run_cli  # noqa: E402
from kamrules.backends.interp import plan_periods  # noqa: E402
from kamrules.backends.interp.run import evaluate  # noqa: E402
from kamrules.backends.sql import dialects  # noqa: E402
from kamrules.backends.sql.engine import evaluate_sql  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.data.fast import frames_from_tables  # noqa: E402
from kamrules.data.strict import load_data  # noqa: E402
from kamrules.report.payouts import to_csv  # noqa: E402
from kamrules.backends.sql.exact import MODES  # noqa: E402
from kamrules.run.session import Session  # noqa: E402
from test_sql_backend import ALL_PLANS, HEAD, _case_data  # noqa: E402

pytestmark = pytest.mark.xdist_group("spark")

try:
    import pyspark  # noqa: F401
    MISSING = None if dialects.java() else "no Java runtime (`java` on PATH or in JAVA_HOME): Spark cannot start"
except ImportError:
    MISSING = "pyspark (extra `spark`) is not installed"

needs_spark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

# (plan, case folder) under "ci": one Spark run each, chosen for what no other one covers
# (team_total(), pay currencies and the other plans: the DuckDB tests on the same lowering,
# and Spark under "long"; the suite's time is bounded, and a Spark run of a case takes 8 s)
FEW = [("equipment-colour-grid", "colour-boundaries")]  # paid() and `hold when`: test_held_and_paid_on_spark


def _cases():
    for plan in ALL_PLANS if HYPOTHESIS_PROFILE == "long" else sorted({p for p, _ in FEW}):
        folders = sorted(p for p in (PLANS / "tests" / plan).glob("*/") if (p / "case.toml").exists())
        for folder in folders:
            if HYPOTHESIS_PROFILE == "long" or (plan, folder.name) in FEW:
                yield pytest.param(plan, folder, id=f"{plan}/{folder.name}")


# The JVM's options for the tests' short runs on a few rows (JAVA_TOOL_OPTIONS, read by the JVMs
# that spark-submit starts, then put back): the C1 compiler alone (C2 recompiling Spark's
# planner costs more CPU than a run of seconds ever wins back) and one serial collector (no
# parallel GC threads). What Spark computes is the same; the JVM's CPU for this file, measured
# with everything else the same, 87 s -> 47 s, CPU the other xdist worker shares on 2 cores.
# A JAVA_TOOL_OPTIONS of the developer's is left as it is.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


@pytest.fixture(scope="session")
def spark():
    """The process's SparkSession (started once; stopped at exit by dialects.stop)."""
    from kamrules.run.sqlrun import started
    own = "JAVA_TOOL_OPTIONS" not in os.environ
    if own:
        os.environ["JAVA_TOOL_OPTIONS"] = JVM_OPTIONS
    try:
        return started()
    finally:
        if own:
            del os.environ["JAVA_TOOL_OPTIONS"]


@needs_spark
@pytest.mark.parametrize("plan, folder", list(_cases()))
def test_same_bytes_as_the_interpreter(spark, plan, folder, tmp_path):
    data, period = _case_data(folder, tmp_path / "data")  # the case's CSV files over its base folder's
    want = run_cli("run", PLANS / f"{plan}.kam", "--data", data, *period, "--engine", "interpreter")
    got = run_cli("run", PLANS / f"{plan}.kam", "--data", data, *period, "--engine", "spark")
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)


@needs_spark
def test_held_and_paid_on_spark(spark, tmp_path):
    """`hold when` (tests/test_holds.py's case) and paid() in one Spark run, for April alone:
    the frame computes January to March first; p1's February 200.00 and March 300.00 are held
    until their invoices are out in April, which books nothing and pays 500.00; paid() reads
    the amounts computed in the year before April, held or not (holds.py): 100.00 + 200.00 +
    300.00 = 600.00. The interpreter's bytes."""
    from test_holds import DEALS, PLAN
    from kamrules.core.calendar import parse_period
    (tmp_path / "people.csv").write_text("payee_id\np1\np2\n")
    (tmp_path / "deals.csv").write_text(DEALS)
    (tmp_path / "plan.kam").write_text(PLAN + "component before = paid(commission, period.year)\n")
    plan = load(tmp_path / "plan.kam")[0]
    tables = load_data(plan, str(tmp_path))
    periods = [parse_period("2025-04")]
    got = to_csv(evaluate_sql(plan, frames_from_tables(plan, tables), periods, dialect="spark"))  # no Fallback
    assert got == to_csv(evaluate(plan, tables, periods, trace=False))
    assert "p1,2025-04,commission,500.00,EUR" in got and "p1,2025-04,before,600.00,EUR" in got


@needs_spark
@settings(max_examples=examples(1), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bases=st.lists(st.decimals(min_value=1, max_value=90000, places=2), min_size=1, max_size=2),
       deals=st.lists(st.tuples(st.integers(0, 2), st.decimals(min_value=-5000, max_value=50000, places=2),
                                st.sampled_from(["2025-01-15", "2025-03-31"]),
                                st.sampled_from(["won", "lost", "renewal"])), min_size=1, max_size=5),
       mode=st.sampled_from(MODES))
def test_generated_data_gives_the_interpreter_bytes(spark, tmp_path_factory, bases, deals, mode):
    """tests/test_sql_backend.py's generated plan (rounded quotients in every mode, a curve,
    min/max of an unrounded quotient by cross-multiplication) on Spark, called directly (a
    Fallback would fail the test): the interpreter's bytes. Bases above zero: the interpreter
    computes every row."""
    data = tmp_path_factory.mktemp("data")
    (data / "plan.kam").write_text(HEAD.format(step="cent", mode=mode))
    ids = ["a", "b"][:len(bases)]
    (data / "people.csv").write_text("payee_id,base\n" + "".join(f"{p},{b}\n" for p, b in zip(ids, bases)))
    (data / "deals.csv").write_text("deal_id,payee_id,amount,close_date,kind\n" + "".join(
        f"d{i},{ids[p % len(ids)]},{a},{d},{k}\n" for i, (p, a, d, k) in enumerate(deals)))
    plan = load(data / "plan.kam")[0]
    tables = load_data(plan, str(data))
    periods = plan_periods(plan, tables)
    want = to_csv(evaluate(plan, tables, periods, trace=False))
    got = to_csv(evaluate_sql(plan, frames_from_tables(plan, tables), periods, dialect="spark"))  # no Fallback
    assert got == want


OVERFLOW = """plan "Overflow"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
  base: Money
}

component huge = if payee.base * 100000000000000000 * 100000000000000000 > money(0) then money(1) else money(0)
"""


@needs_spark
def test_an_overflow_hands_the_run_to_the_interpreter(spark, tmp_path):
    """10^13 x 10^17 x 10^17 passes DECIMAL(38, 2): ANSI mode makes it an error, the run goes
    to the interpreter (which computes 10^47 > 0 exactly: 1.00 for both payees), never a
    NULL or a wrapped product taken as false (0.00)."""
    (tmp_path / "plan.kam").write_text(OVERFLOW)
    (tmp_path / "people.csv").write_text("payee_id,base\na,10000000000000.00\nb,10.00\n")
    session = Session(str(tmp_path / "plan.kam"), str(tmp_path), ["2025-Q1"], "spark")
    run = session.execute()
    assert run.engine == "interpreter" and session.handed_over.startswith("Fallback: Spark: ")
    assert to_csv(run.payouts) == ("payee_id,period,component,amount,currency\n"
                                   "a,2025-Q1,huge,1.00,EUR\na,2025-Q1,total,1.00,EUR\n"
                                   "b,2025-Q1,huge,1.00,EUR\nb,2025-Q1,total,1.00,EUR\n")


def test_a_refused_plan_is_kr440_before_spark_starts(tmp_path, monkeypatch):
    """examples/marginal-tiers/plan.kam line 26 calls a decision with `hit marginal`: refused
    as on DuckDB, with its line, no output file, and no Spark started (nor needed: the
    refusal is static)."""
    monkeypatch.setattr(dialects, "spark", lambda: pytest.fail("Spark started for a refused plan"))
    out = tmp_path / "payouts.csv"
    folder = PLANS.parent / "examples" / "marginal-tiers"
    got = run_cli("run", folder / "plan.kam", "--data", folder, "--engine", "spark", "-o", out)
    assert got.returncode == 1 and not out.exists()
    assert "KR440" in got.stderr and "hit marginal" in got.stderr and ":26:24:" in got.stderr


@pytest.mark.parametrize("missing, code, hint", [("java", "KR446", "default-jre-headless"),
                                                 ("pyspark", "KR445", "pip install 'kamrules[spark]'")])
def test_no_java_or_no_pyspark_is_a_diagnostic(missing, code, hint, tmp_path, monkeypatch):
    """Without Java (or pyspark), --engine spark stops with its code and the install hint,
    exit 1, no output file: never a Java stack trace, never a silent switch of engine."""
    import builtins
    monkeypatch.setattr(dialects, "_SPARK", {})  # this process's Spark, if any, not reused
    if missing == "java":
        monkeypatch.setattr(dialects, "java", lambda: None)
    else:
        real = builtins.__import__

        def no_pyspark(name, *args, **kwargs):
            if name == "pyspark" or name.startswith("pyspark."):
                raise ImportError(name)
            return real(name, *args, **kwargs)
        monkeypatch.setattr(builtins, "__import__", no_pyspark)
    out = tmp_path / "payouts.csv"
    folder = PLANS / "tests" / "fx-commission" / "example"
    got = run_cli("run", PLANS / "fx-commission.kam", "--data", folder, "--engine", "spark", "-o", out)
    assert got.returncode == 1 and not out.exists() and code in got.stderr and hint in got.stderr


def test_the_spark_statements_are_exact_by_construction():
    """What dialects.Spark writes: no HUGEINT (DECIMAL(38, 0)), no DIV (a BIGINT), a date
    difference by DATEDIFF (date - date is an interval), an ASOF join as a window; the
    helpers as typed SQL functions over DECIMAL(38, 0)."""
    sp = dialects.DIALECTS["spark"]
    got = sp.sql("SELECT CAST(x * 100 AS HUGEINT) AS i, date_diff('day', a, b) AS d FROM t")
    assert got == "SELECT CAST(x * 100 AS DECIMAL(38, 0)) AS i, DATEDIFF(DAY, a, b) AS d FROM t"
    asof = sp.sql('SELECT s.__row, y.rate FROM "t.deals" s ASOF LEFT JOIN y ON s.day >= y."date"')
    assert "ASOF" not in asof and "ROW_NUMBER() OVER (PARTITION BY s.__row ORDER BY y.`date` DESC)" in asof
    # per target currency (a pay currency per payee): one rate per row and target
    keyed = sp.sql('SELECT s.__row, y.rate FROM "t.deals" s CROSS JOIN t ASOF LEFT JOIN y '
                   'ON t."to" = y."to" AND s.day >= y."date"')
    assert "ASOF" not in keyed and "PARTITION BY s.__row, t.`to` ORDER BY y.`date` DESC" in keyed
    helpers = sp.helpers()
    assert all(h.startswith("CREATE OR REPLACE TEMPORARY FUNCTION kr_") and
               "(a DECIMAL(38, 0), b DECIMAL(38, 0)) RETURNS DECIMAL(38, 0)" in h for h in helpers)
    assert not any(" DIV " in h or "//" in h or "HUGEINT" in h for h in helpers)


def test_the_spark_master_option_is_the_process_sessions(monkeypatch):
    """--spark-master URL sets where the process's one SparkSession starts (default local[2])."""
    from kamrules.cli.main import build_parser
    monkeypatch.setitem(dialects.MASTER, "url", "local[2]")
    args = build_parser("run", full=False).parse_args(["run", "p.kam", "--data", "d", "--engine", "spark",
                                                       "--spark-master", "spark://h:7077"])
    assert args.engine == "spark" and dialects.MASTER["url"] == "spark://h:7077"


@pytest.mark.skipif(MISSING == "pyspark (extra `spark`) is not installed", reason=MISSING or "")
def test_a_spark_that_does_not_start_is_kr447(monkeypatch):
    """A master Spark cannot reach: KR447 with Spark's first line, not a py4j stack trace
    (the gateway launch replaced: starting a second JVM here would cost seconds)."""
    import pyspark.java_gateway
    monkeypatch.setattr(dialects, "_SPARK", {})
    monkeypatch.setattr(dialects, "java", lambda: "/usr/bin/java")

    def refuse(conf, popen_kwargs=None):
        raise RuntimeError("Could not parse Master URL: 'nowhere://x'\nat org.apache...")
    monkeypatch.setattr(pyspark.java_gateway, "launch_gateway", refuse)
    monkeypatch.setitem(dialects.MASTER, "url", "nowhere://x")
    with pytest.raises(dialects.SparkUnavailable) as why:
        dialects.spark()
    assert why.value.code == "KR447" and why.value.what == (
        "Spark did not start at nowhere://x: Could not parse Master URL: 'nowhere://x'")

