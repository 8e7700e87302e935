"""`--engine duckdb` and `--engine spark`: a session's run on the SQL backend
(kamrules/backends/sql, one dialect each: dialects.py).

A plan the backend refuses is an error (KR440, naming the construct and its line), never a
silent switch of engine; data the backend hands over (a value only the interpreter's
diagnostic can explain, an overflow) goes to the interpreter, as with the columnar engine.
Spark's own needs are diagnostics too: pyspark missing (KR445), no Java (KR446), a Spark
that does not start at --spark-master (KR447).
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError

SPARK_HINT = {"KR445": "pip install 'kamrules[spark]'",
              "KR446": "install a Java runtime, 17 or later (Debian/Ubuntu: apt-get install default-jre-headless; "
                       "macOS: brew install openjdk@17), or set JAVA_HOME",
              "KR447": "check --spark-master (default local[2]) and that the cluster answers"}


def run_sql(session, payee_ids, dialect: str = "duckdb"):
    """The session's Run on the SQL backend in `dialect`, or None when the data needs the
    interpreter."""
    try:
        import sqlglot  # noqa: F401
        if dialect == "duckdb":
            import duckdb  # noqa: F401
    except ImportError:
        if dialect == "spark":
            raise KamError([Diagnostic("KR445", "--engine spark needs the packages pyspark and sqlglot",
                                       hint=SPARK_HINT["KR445"])]) from None
        raise KamError([Diagnostic("KR441", "--engine duckdb needs the packages duckdb and sqlglot",
                                   hint="pip install 'kamrules[duckdb]'")]) from None
    from kamrules.backends.sql.engine import Fallback, evaluate_sql, refusal
    from kamrules.run.session import Run
    plan = session.check()
    why = refusal(plan, dialect)
    if why is not None:
        raise KamError([Diagnostic("KR440", f"the SQL backend does not run this plan exactly: {why.what}",
                                   why.span, hint="run it with --engine auto (the default) or interpreter")])
    from kamrules.core.numeric import Fallback as Beyond
    try:
        frames = session.frames()
    except Beyond as why:  # a cell beyond the columnar loader's DECIMAL(38, 24): the interpreter's KR413
        session.handed_over = f"Fallback: {why}"
        return None
    ids = session.payees(payee_ids)
    periods = session.periods()
    if dialect == "spark":
        started()  # before any Spark work: a missing Java is a diagnostic, not a Fallback
    from kamrules.backends.sql.dialects import SparkUnavailable
    try:
        payouts = evaluate_sql(plan, frames, periods, memory_limit=getattr(session, "memory_limit", None),
                               history=session.history, dialect=dialect)
    except SparkUnavailable as why:  # a cluster lost during the run
        raise KamError([Diagnostic(why.code, why.what, hint=SPARK_HINT[why.code])]) from None
    except Fallback as why:
        session._periods = None
        session.handed_over = f"Fallback: {why}"
        return None
    if ids is not None:
        payouts = [p for p in payouts if p.payee_id in ids]
    return Run(payouts, periods, dialect, session._inputs())


def run_duckdb(session, payee_ids):
    """The session's Run on DuckDB, or None when the data needs the interpreter."""
    return run_sql(session, payee_ids, "duckdb")


def started():
    """The process's SparkSession (dialects.spark), its absence as KR445/KR446/KR447."""
    from kamrules.backends.sql.dialects import SparkUnavailable, spark
    try:
        return spark()
    except SparkUnavailable as why:
        raise KamError([Diagnostic(why.code, why.what, hint=SPARK_HINT[why.code])]) from None
