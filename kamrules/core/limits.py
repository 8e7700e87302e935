"""Every size limit kamrules enforces, in one place: plans, expressions, literals, data.

A limit exceeded is a Diagnostic, never a RecursionError, a MemoryError or a hang:
  KR005  a plan limit (size, nesting, literal length or range, decision-table rows),
  KR007  too many definitions in one plan,
  KR008  a decision table too large to analyse (its coverage check would not finish),
  KR408  a data limit (rows, cell size, header width),
  KR413  a value out of range during the computation (the run stops, naming the expression,
         the payee and the period).
The values are generous for real plans and CRM exports; they exist so that a hostile or
broken file fails fast and clearly. docs/security.md lists them.
"""
from __future__ import annotations

import datetime as _dt

# ---- plan text (parser.py)
MAX_PLAN_BYTES = 2_000_000        # a real plan is a few kilobytes
MAX_PLAN_LINES = 50_000
MAX_NESTING = 60                  # brackets, `not`, unary minus, else-if chains... in one expression
MAX_NUMBER_CHARS = 40             # digits (with `_` and `.`) of one number literal in a plan

# ---- numbers and dates (the supported range; plan literals here, data cells on load)
# A Money, Rate or Number value has at most MAX_INTEGER_DIGITS digits before the point and
# MAX_FRACTION_DIGITS after it: 18 + 12 = 30 significant digits, so a sum of 20 million such
# values or a product with a rate stays exact in the 80-digit context (money.EXACT_CONTEXT). The
# data loader uses the same two constants for cells; a component whose amount reaches
# 10**MAX_INTEGER_DIGITS stops the run (KR413).
MAX_INTEGER_DIGITS = 18
MAX_FRACTION_DIGITS = 12
# Dates, in data and plan literals: the calendar's last year is kept free so that
# `period.end + 1`, the next period and `period.year` of any supported date exist.
MIN_DATE = _dt.date(1, 1, 1)
MAX_DATE = _dt.date(9998, 12, 31)

# ---- definitions and decision tables (checker.py, tables.py)
MAX_DEFINITIONS = 10_000          # params, lets, components and tables in one plan (KR007)
MAX_TABLE_ROWS = 20_000           # rows of one decision table or curve (KR005)
MAX_TABLE_POINTS = 2_000_000      # points the coverage check of a multi-input table tries (KR008)

# ---- data files (data.py)
MAX_ROWS = 20_000_000             # rows in one input table (load_table(max_rows=...) overrides)
MAX_CELL_CHARS = 10_000           # characters in one cell (CSV) or string value (JSON)
MAX_NUMBER_DIGITS = 40            # characters of one numeric cell (`-123456.78` is 10)
MAX_COLUMNS = 1_000_000           # columns in the header of one input file (KR408)
MAX_DIAGNOSTICS = 50              # data errors reported before stopping

# ---- the columnar engine (columnar/aggregate.py)
# Rows of a table paired with payee-periods by one join (counted before joining): past it the
# columnar engine refuses the plan (named in the message) and `run` uses the interpreter.
MAX_JOIN_PAIRS = 50_000_000


def _diag(path: str, line: int, col: int, message: str, hint: str):
    from kamrules.diagnostics.diagnostic import Diagnostic
    from kamrules.diagnostics.source import Span
    return Diagnostic("KR005", message, Span(path, line, col, line, col + 1), hint)


def plan_text_problem(text: str, path: str):
    """A Diagnostic when the plan text is over a size or bracket-nesting limit, else None.

    Runs before the parser: brackets are counted outside strings and comments, so a file of
    ten thousand `(` fails here rather than deep inside a recursive walk."""
    if len(text.encode("utf-8")) > MAX_PLAN_BYTES:
        return _diag(path, 1, 1, f"the plan is {len(text.encode('utf-8'))} bytes (at most {MAX_PLAN_BYTES})",
                     "split it, or check that --plan points at a .kam file")
    lines = text.count("\n") + 1
    if lines > MAX_PLAN_LINES:
        return _diag(path, MAX_PLAN_LINES + 1, 1, f"the plan has {lines} lines (at most {MAX_PLAN_LINES})",
                     "split it, or check that --plan points at a .kam file")
    depth, line, col, in_str, in_comment = 0, 1, 0, False, False
    for ch in text:
        col += 1
        if ch == "\n":
            line, col, in_str, in_comment = line + 1, 0, False, False
        elif in_comment:
            continue
        elif in_str:
            in_str = ch != '"'
        elif ch == '"':
            in_str = True
        elif ch == "#":
            in_comment = True
        elif ch in "([":
            depth += 1
            if depth > MAX_NESTING:
                return nesting_problem(path, line, col)
        elif ch in ")]":
            depth -= 1
    return None


def nesting_problem(path: str, line: int, col: int):
    return _diag(path, line, col, f"this expression nests more than {MAX_NESTING} levels deep",
                 "name the inner parts with `let` definitions")


def tree_too_deep(tree) -> tuple | None:
    """(line, column) of a parse-tree node deeper than the nesting limit, else None.

    Iterative, so it is safe on any tree; counts the expression levels a recursive walk
    (the AST transformer, the checker, the evaluator) would descend."""
    stack = [(tree, 0)]
    limit = MAX_NESTING * 3  # a level of nesting is at most ~3 tree levels (paren -> atom -> op)
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            meta = getattr(node, "meta", None)
            return (getattr(meta, "line", 1) or 1, getattr(meta, "column", 1) or 1)
        for child in getattr(node, "children", ()):
            if hasattr(child, "children"):
                stack.append((child, depth + 1))
    return None


def number_literal_problem(text: str) -> str | None:
    digits = text.replace("_", "")
    if len(digits) > MAX_NUMBER_CHARS:
        return f"the number `{text[:20]}...` has {len(digits)} characters (at most {MAX_NUMBER_CHARS})"
    return None


def number_range_problem(value) -> str | None:
    """Why a number as written (a finite Decimal) is outside the supported range, else None."""
    _, digits, exp = value.as_tuple()
    digits = list(digits)
    while exp < 0 and len(digits) > 1 and digits[-1] == 0:  # 1.500 has one fraction digit
        digits.pop()
        exp += 1
    if -exp > MAX_FRACTION_DIGITS:
        return f"this number has {-exp} digits after the point (at most {MAX_FRACTION_DIGITS})"
    whole = len(digits) + exp if any(digits) else 0
    if whole > MAX_INTEGER_DIGITS:
        return f"this number has {whole} digits before the point (at most {MAX_INTEGER_DIGITS})"
    return None


def date_range_problem(day) -> str | None:
    """Why a date is outside the supported calendar, else None."""
    if not (MIN_DATE <= day <= MAX_DATE):
        return f"{day.isoformat()} is past the supported calendar ({MIN_DATE.isoformat()} to {MAX_DATE.isoformat()})"
    return None


def period_range_problem(period) -> str | None:
    """Why a period (calendar.Period) ends outside the supported calendar, else None."""
    try:
        end = period.end
    except (ValueError, OverflowError):  # its end is past year 9999
        return f"ends past the supported calendar (at most {MAX_DATE.isoformat()})"
    problem = date_range_problem(end)
    return "ends on " + problem if problem else None
