"""Which engines run a plan, answered before any data is read: one static pass per backend
over the lowered IR (kamrules/core/ir.py), each naming the first construct it does not run
and its line.

- `columnar` (polars): backends/polars/support.py `refusal`, the mirror of what the frame
  translates (core.builtins says where each built-in may be called);
- `duckdb`, `spark` and `postgres` (the SQL backend): backends/sql/engine.py `refusal`, the
  whole plan translated to SQL without running it (Spark and PostgreSQL: less the constructs
  built on DuckDB only);
- `interpreter`: every checked plan.

`engines_for(plan)` gives them together, computed once per lowered plan. The session reads
it to choose the engine (auto: columnar when it runs the plan; `--engine columnar` on a plan
it does not run: KR002 naming the construct, before any data is read); `kamrules check
--engines` prints it. What only data decides (a value that stops the plan, a join past its
bound) is not known here: a run still hands those payees, or the run, to the interpreter.
"""
from __future__ import annotations

import attrs

from kamrules.check.lower import ir_of

ENGINES = ("columnar", "duckdb", "spark", "postgres", "interpreter")


@attrs.frozen
class Refusal:
    """Why an engine does not run a plan: the construct, and where it is written."""
    what: str
    span: object = None

    @property
    def line(self) -> int | None:
        return getattr(self.span, "line", None) or None

    def __str__(self) -> str:
        return f"{self.what} (line {self.line})" if self.line else self.what


def engines_for(plan, engines: tuple = ENGINES) -> dict:
    """{engine: None when it runs the plan, else its Refusal}, for the engines asked (every
    one of ENGINES by default; the plan checked or lowered). Each pass runs once per plan."""
    lowered = ir_of(plan)
    known = lowered.cache.setdefault("engines", {})
    for engine in engines:
        if engine not in known:
            known[engine] = PASSES[engine](lowered)
    return {engine: known[engine] for engine in engines}


def columnar_refusal(plan) -> Refusal | None:
    from kamrules.backends.polars.support import refusal
    try:
        return _as_refusal(refusal(ir_of(plan)))
    except Exception:  # noqa: BLE001 - a bug of the pass (tests call it bare): the engine decides as it runs
        return None


def sql_refusal(plan, dialect: str = "duckdb") -> Refusal | None:
    from kamrules.backends.sql.engine import refusal
    return _as_refusal(refusal(ir_of(plan), dialect))


PASSES = {"columnar": columnar_refusal, "duckdb": sql_refusal,
          "spark": lambda plan: sql_refusal(plan, "spark"), "postgres": lambda plan: sql_refusal(plan, "postgres"),
          "interpreter": lambda plan: None}


def _as_refusal(why) -> Refusal | None:
    if why is None:
        return None
    return Refusal(getattr(why, "what", str(why)), getattr(why, "span", None))
