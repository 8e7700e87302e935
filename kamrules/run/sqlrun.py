"""`--engine duckdb`, `--engine spark` and `--engine postgres`: a session's run on the SQL
backend (kamrules/backends/sql, one dialect each: dialects.py, postgres.py).

A plan the backend refuses is an error (KR440, naming the construct and its line), never a
silent switch of engine; data the backend hands over (a value only the interpreter's
diagnostic can explain, an overflow) goes to the interpreter, as with the columnar engine.
Spark's own needs are diagnostics too: pyspark missing (KR445), no Java (KR446), a Spark
that does not start at --spark-master (KR447). PostgreSQL's: no PostgreSQL database in --db
(KR448), psycopg missing (KR449), the server stopping the run (KR462; over --db-timeout: KR461).
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.backends.interp.run import plan_periods
from kamrules.run.columnar import _period_of_key

SPARK_HINT = {"KR445": "pip install 'kamrules[spark]'",
              "KR446": "install a Java runtime, 17 or later (Debian/Ubuntu: apt-get install default-jre-headless; "
                       "macOS: brew install openjdk@17), or set JAVA_HOME",
              "KR447": "check --spark-master (default local[2]) and that the cluster answers"}


def run_sql(session, payee_ids, dialect: str = "duckdb"):
    """The session's Run on the SQL backend in `dialect`, or None when the data needs the
    interpreter."""
    if dialect == "postgres":
        return run_postgres(session, payee_ids)
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
    from kamrules.backends.sql.engine import Fallback, evaluate_sql
    from kamrules.run.results import Run
    plan = session.check()
    _refuse(plan, dialect)
    from kamrules.backends.sql.engine import table_payouts
    if table_payouts(plan, dialect):  # DuckDB: CSV files streamed in, payouts back as a frame
        return _streamed(session, payee_ids, plan)
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
        return _hand_over(session, why)
    if ids is not None:
        payouts = [p for p in payouts if p.payee_id in ids]
    return Run(payouts, periods, dialect, session._inputs())


def _refuse(plan, dialect: str) -> None:
    """KR440 (the construct, its line) when the SQL backend cannot run `plan` exactly in `dialect`."""
    from kamrules.backends.sql.engine import refusal
    why = refusal(plan, dialect)
    if why is not None:
        raise KamError([Diagnostic("KR440", f"the SQL backend does not run this plan exactly: {why.what}",
                                   why.span, hint="run it with --engine auto (the default) or interpreter")])


def _hand_over(session, why) -> None:
    """The data needs the interpreter: the session forgets the periods it learnt and says why."""
    session._periods = None
    session.handed_over = f"Fallback: {why}"
    return None


def _frame_run(session, plan, table, ids, engine: str, files):
    """A Run of the payout frame `table` (the payees `ids` only, when given), its payouts built
    on demand."""
    import polars as pl
    from kamrules.run.columnar import payouts_list
    from kamrules.run.results import ColumnarRun, LazyPayouts
    if ids is not None:
        table = table.filter(pl.col("payee_id").is_in(sorted(ids)))
    report = session.periods()
    return ColumnarRun(LazyPayouts(lambda: payouts_list(plan, table, report)), report, engine, files, table)


def _streamed(session, payee_ids, plan):
    """run_sql on DuckDB from the CSV files streamed in pieces (backends/sql/load.py), the
    payouts read back as the columnar engine's payout frame: memory is DuckDB's
    (--memory-limit, spilling to disk) plus one piece."""
    from kamrules.backends.sql.engine import Fallback, evaluate_sql
    from kamrules.backends.sql.load import Streamed
    from kamrules.core.numeric import Fallback as BeyondColumns
    ids = session.payees(payee_ids) if payee_ids is not None else None  # (loads the frames)
    source = Streamed(session.sourced(), session.data, session.frames,
                      stream=session._frames is None and session._tables is None)

    def periods(con):
        if source.frames is not None or session._fixed_periods is not None:
            return session.periods()
        session._periods = streamed_periods(session, lambda t, c: source.values(con, t, c))
        return session._periods
    try:
        table = evaluate_sql(plan, source, periods, memory_limit=getattr(session, "memory_limit", None),
                             history=session.history, table=True)
    except (Fallback, BeyondColumns) as why:  # BeyondColumns: a number the loaded frames cannot hold
        return _hand_over(session, why)
    return _frame_run(session, plan, table, ids, "duckdb", session._inputs())


def streamed_periods(session, distinct) -> list:
    """The report periods as session.periods() gives them on frames (columnar.frame_periods),
    from distinct(table, column), the distinct values of a streamed column."""
    plan = session.check()

    def values(table, column):
        vals = distinct(table, column)
        if plan.inputs[table].columns[column].type.kind == "period":
            return {_period_of_key(v, plan.fiscal_start) for v in vals}
        return vals
    return plan_periods(plan, None, session.period_arg, values)


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


PG_HINT = "pip install 'kamrules[postgres]' (psycopg 3 and sqlglot)"


def run_postgres(session, payee_ids):
    """The session's Run computed inside the PostgreSQL database of --db (backends/sql/
    postgres.py): its `from sql` inputs read in place, file inputs sent up as temporary
    tables, the payouts back; None when the data needs the interpreter (which then reads the
    snapshots of the queries, as every other engine)."""
    import os
    from types import SimpleNamespace
    from kamrules.data.sql import ENV, SCHEMES, TIMEOUT, mask
    try:
        import psycopg  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise KamError([Diagnostic("KR449", "--engine postgres needs the packages psycopg and sqlglot",
                                   hint=PG_HINT)]) from None
    url = session.db or os.environ.get(ENV) or ""
    if SCHEMES.get(url.partition("://")[0].lower()) != "postgres":
        shown = f"--db {mask(url)} is not" if url else "no --db names"
        raise KamError([Diagnostic("KR448", f"--engine postgres runs the plan inside a PostgreSQL database: "
                                   f"{shown} one", hint=f"add --db postgresql://user@host/db (or set {ENV})")])
    from kamrules.backends.sql.engine import Fallback, evaluate_sql
    from kamrules.backends.sql.postgres import Inputs, Stopped
    from kamrules.run.results import Run
    plan = session.check()
    _refuse(plan, "postgres")
    timeout = TIMEOUT if session.db_timeout is None else session.db_timeout  # each statement's
    inputs = Inputs(plan, url, timeout, lambda: _file_frames(session, plan))

    def periods(_con):  # the report periods, from the distinct dates in the database
        if session._periods is None and session._fixed_periods is None:
            session._periods = streamed_periods(session, inputs.values)
        return session.periods()
    from kamrules.backends.sql.engine import table_payouts
    table = table_payouts(plan, "postgres")  # the payout frame, no Python object per payout
    try:
        payouts = evaluate_sql(plan, inputs, periods, history=session.history, dialect="postgres", table=table)
    except Stopped as why:
        raise KamError([Diagnostic(why.code, f"--db {mask(url)}: {why.what}",
                                   hint="give it longer: --db-timeout SECONDS" if why.code == "KR461" else
                                   "check that the server runs and that the role may create temporary tables "
                                   "(TEMP privilege on the database)")]) from None
    except Fallback as why:
        session.sourced()  # the interpreter reads the snapshots of the queries
        return _hand_over(session, why)
    from kamrules.backends.interp.run import select_payees
    from kamrules.files.inputs import resolve
    files = session._inputs() if session._tables is not None else {  # (`kamrules test`: its tables)
        name: SimpleNamespace(path=None if spec.sql else resolve(spec, session.data), query=spec.sql)
        for name, spec in plan.inputs.items()}
    payees = plan.inputs[plan.payees_table]
    ids = select_payees(payee_ids, inputs.payee_ids, mask(url) if payees.sql else files[plan.payees_table].path)
    if table:
        return _frame_run(session, plan, payouts, ids, "postgres", files)
    if ids is not None:
        payouts = [p for p in payouts if p.payee_id in ids]
    return Run(payouts, session.periods(), "postgres", files)


def _file_frames(session, plan) -> dict:
    """The columnar loader's frames of the plan's file inputs (a reference to a `from sql`
    input is checked in PostgreSQL); Unvouched (the interpreter's run) on any problem."""
    import attrs
    from kamrules.backends.sql.postgres import Unvouched
    from kamrules.core.numeric import Fallback as Beyond
    from kamrules.run.columnar import load
    sql = {n for n, s in plan.inputs.items() if s.sql is not None}
    files = {n: attrs.evolve(s, columns={c: attrs.evolve(col, references=None) if col.references in sql else col
                                         for c, col in s.columns.items()})
             for n, s in plan.inputs.items() if n not in sql}
    try:
        if session._tables is not None or session._frames is not None:  # loaded already (`kamrules test`)
            frames = session.frames()
            return {n: frames[n] for n in files}
        return load(attrs.evolve(plan, inputs=files), session.data)
    except (KamError, Beyond) as why:
        raise Unvouched(f"the file inputs: {why}") from None
