"""A component's validity window (`component NAME from DATE to DATE`): its bounds are Dates
(KR201) and, when they are constant (a literal, or a param set to one), the window does not end
before it starts, or the component would silently never be paid (KR002)."""
from __future__ import annotations

import datetime as dt

from kamrules.syntax import ast
from kamrules.diagnostics.source import Span


def check_window(checker, node: ast.Component, types: list) -> None:
    """KR201 on a bound that is not a Date (types: the bounds' checked types, None when
    absent); KR002 on `from B to A` when A is before B (both constant)."""
    for bound, bt in zip((node.valid_from, node.valid_to), types):
        if bt is not None and bt.kind not in ("date", "unknown"):
            checker.error("KR201", f"a validity bound must be a Date, not {bt}", bound.span,
                          "write dates as 2025-04-01")
    lo, hi = constant_date(checker.defs, node.valid_from), constant_date(checker.defs, node.valid_to)
    if lo is not None and hi is not None and hi < lo:
        start, end = node.valid_from.span, node.valid_to.span
        checker.error("KR002", f"component `{node.name}` runs from {lo} to {hi}: the window ends "
                      "before it starts, so no period would ever pay it",
                      Span(start.file, start.line, start.column, end.end_line, end.end_column),
                      f"write the earlier date first: from {hi} to {lo}")


def constant_date(defs: dict, expr, depth: int = 0) -> dt.date | None:
    """The day a bound names when it is a date literal, or a param set to one; else None."""
    if isinstance(expr, ast.Paren):
        expr = expr.expr
    if isinstance(expr, ast.Name) and depth < 8 and isinstance(defs.get(expr.id), ast.Param):
        return constant_date(defs, defs[expr.id].expr, depth + 1)
    if isinstance(expr, ast.DateLit):
        try:
            return dt.date.fromisoformat(expr.text)
        except ValueError:
            return None  # an impossible date: KR002 of its own
    return None
