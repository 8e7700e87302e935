"""`--engine duckdb`: a session's run on the SQL backend (kamrules/backends/sql).

A plan the backend refuses is an error (KR440, naming the construct and its line), never a
silent switch of engine; data the backend hands over (a value only the interpreter's
diagnostic can explain, an overflow) goes to the interpreter, as with the columnar engine.
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.backends.interp.run import plan_periods
from kamrules.run.columnar import _period_of_key


def run_duckdb(session, payee_ids):
    """The session's Run on DuckDB, or None when the data needs the interpreter."""
    try:
        import duckdb  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise KamError([Diagnostic("KR441", "--engine duckdb needs the packages duckdb and sqlglot",
                                   hint="pip install 'kamrules[duckdb]'")]) from None
    from kamrules.backends.sql.engine import Fallback, evaluate_sql, refusal
    from kamrules.core.numeric import Fallback as BeyondColumns
    import polars as pl
    from kamrules.run.columnar import payouts_list
    from kamrules.run.session import ColumnarRun, LazyPayouts
    plan = session.check()
    why = refusal(plan)
    if why is not None:
        raise KamError([Diagnostic("KR440", f"the SQL backend does not run this plan exactly: {why.what}",
                                   why.span, hint="run it with --engine auto (the default) or interpreter")])
    from kamrules.backends.sql.load import Streamed
    ids = session.payees(payee_ids) if payee_ids is not None else None  # (loads the frames)
    source = Streamed(session.sourced(), session.data, session.frames,
                      stream=session._frames is None and session._tables is None)

    def periods(con):
        if source.frames is not None or session._fixed_periods is not None:
            return session.periods()
        session._periods = streamed_periods(session, lambda t, c: source.values(con, t, c))
        return session._periods
    try:
        table = evaluate_sql(plan, source, periods, memory_limit=getattr(session, "memory_limit", None), table=True)
    except (Fallback, BeyondColumns) as why:  # BeyondColumns: a number the loaded frames cannot hold
        session._periods = None
        session.handed_over = f"Fallback: {why}"
        return None
    if ids is not None:
        table = table.filter(pl.col("payee_id").is_in(sorted(ids)))
    report = session.periods()
    return ColumnarRun(LazyPayouts(lambda: payouts_list(plan, table, report)), report, "duckdb",
                       session._inputs(), table)


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
