"""`--engine duckdb`: a session's run on the SQL backend (kamrules/backends/sql).

A plan the backend refuses is an error (KR440, naming the construct and its line), never a
silent switch of engine; data the backend hands over (a value only the interpreter's
diagnostic can explain, an overflow) goes to the interpreter, as with the columnar engine.
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError


def run_duckdb(session, payee_ids):
    """The session's Run on DuckDB, or None when the data needs the interpreter."""
    try:
        import duckdb  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise KamError([Diagnostic("KR441", "--engine duckdb needs the packages duckdb and sqlglot",
                                   hint="pip install 'kamrules[duckdb]'")]) from None
    from kamrules.backends.sql.engine import Fallback, evaluate_sql, refusal
    from kamrules.run.session import Run
    plan = session.check()
    why = refusal(plan)
    if why is not None:
        raise KamError([Diagnostic("KR440", f"the SQL backend does not run this plan exactly: {why.what}",
                                   why.span, hint="run it with --engine auto (the default) or interpreter")])
    frames = session.frames()
    ids = session.payees(payee_ids)
    periods = session.periods()
    try:
        payouts = evaluate_sql(plan, frames, periods, memory_limit=getattr(session, "memory_limit", None),
                               history=session.history)
    except Fallback as why:
        session._periods = None
        session.handed_over = f"Fallback: {why}"
        return None
    if ids is not None:
        payouts = [p for p in payouts if p.payee_id in ids]
    return Run(payouts, periods, "duckdb", session._inputs())
