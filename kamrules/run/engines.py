"""Which engines run a plan, answered before any data is read: one static pass per backend
over the lowered IR (kamrules/core/ir.py), each naming the first construct it does not run
and its line.

- `columnar` (polars): backends/polars/support.py `refusal`, the mirror of what the frame
  translates (core.builtins says where each built-in may be called);
- `duckdb` (the SQL backend): backends/sql/engine.py `refusal`, the whole plan translated
  to SQL without running it;
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

ENGINES = ("columnar", "duckdb", "interpreter")


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


def engines_for(plan) -> dict:
    """{engine: None when it runs the plan, else its Refusal}, for every engine of ENGINES
    (the plan checked or lowered)."""
    lowered = ir_of(plan)
    known = lowered.cache.get("engines")
    if known is None:
        known = lowered.cache["engines"] = {"columnar": columnar_refusal(lowered),
                                            "duckdb": sql_refusal(lowered), "interpreter": None}
    return dict(known)


def columnar_refusal(plan) -> Refusal | None:
    from kamrules.backends.polars.support import refusal
    return _as_refusal(refusal(ir_of(plan)))


def sql_refusal(plan) -> Refusal | None:
    from kamrules.backends.sql.engine import refusal
    return _as_refusal(refusal(ir_of(plan)))


def _as_refusal(why) -> Refusal | None:
    if why is None:
        return None
    return Refusal(getattr(why, "what", str(why)), getattr(why, "span", None))
